"""Where things are, computed once: the checkout, the IVOA schemas, the example and test
apps, the scripts. Every test finds files through these, never relative to its own path.

The IVOA schemas are those of Debian's python3-gavo, unpacked by scripts/ivoa-schemas.sh
(`make setup`) into .run/ivoa-schemas/current with a generated XML catalog;
INNERSPACE_SCHEMAS may name another folder holding XML Schema files and their catalog.xml."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / ".run"
SCHEMAS = Path(os.environ.get("INNERSPACE_SCHEMAS") or RUN / "ivoa-schemas" / "current")
EXAMPLES = ROOT / "examples" / "apps"
TEST_APPS = ROOT / "tests" / "apps"
SCRIPTS = ROOT / "scripts"
SRC = ROOT / "src"


def load_script(name: str) -> ModuleType:
    """A Python script of scripts/ as a module (they are not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec and spec.loader, f"no script {name}.py in {SCRIPTS}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
