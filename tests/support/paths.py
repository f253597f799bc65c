"""Where things are, computed once: the checkout, the IVOA schemas, the example and test
apps, the scripts. Every test finds files through these, never relative to its own path."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("INNERSPACE_SHARED", ROOT.parent / "shared"))
SCHEMAS = SHARED / "schemas"
EXAMPLES = ROOT / "examples" / "apps"
TEST_APPS = ROOT / "tests" / "apps"
SCRIPTS = ROOT / "scripts"
SRC = ROOT / "src"
RUN = ROOT / ".run"


def load_script(name: str) -> ModuleType:
    """A Python script of scripts/ as a module (they are not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec and spec.loader, f"no script {name}.py in {SCRIPTS}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
