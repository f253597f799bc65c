"""node for the test OpenID provider (tests/support/oidc/): its modules installed once from
the committed lock file into .run/oidc-provider/ (tests/support/node_modules.py), and its
script staged beside them."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from tests.support.node_modules import NodeModulesError, NodePackage, NodeUnavailable, Say
from tests.support.paths import ROOT, RUN

SOURCE = ROOT / "tests" / "support" / "oidc"
MODULES_CACHE = RUN / "oidc-provider"
PACKAGE = NodePackage(SOURCE, MODULES_CACHE, "the test OpenID provider")

__all__ = ["MODULES_CACHE", "PACKAGE", "SOURCE", "ProviderError", "ProviderUnavailable",
           "Say", "install_modules", "stage_script"]

# node or npm is missing or too old here: the tests that need the provider skip.
ProviderUnavailable = NodeUnavailable


class ProviderError(RuntimeError):
    """The provider could not be installed or started, or did not answer as expected."""


def install_modules(say: Say) -> tuple[str, Path]:
    """`npm ci` the provider's modules into the cache, once per lock file; returns node and
    the folder holding node_modules."""
    try:
        return PACKAGE.install(say)
    except NodeModulesError as exc:
        raise ProviderError(str(exc)) from exc


def stage_script(modules: Path) -> Path:
    """provider.mjs copied beside the installed node_modules; returns its path."""
    # Node resolves the imports of an ES module from the module's own folder (NODE_PATH is
    # not used for them), so the script runs from beside the installed node_modules.
    script = modules / "provider.mjs"
    staged = modules / f".provider-{os.getpid()}-{secrets.token_hex(4)}.mjs"
    shutil.copy2(SOURCE / "provider.mjs", staged)
    staged.replace(script)
    return script
