"""Finding and preparing what the test browser needs (tests/support/browser.py): Debian's
Chromium and chromedriver, the flags Chromium needs as root in a closed network, axe-core
installed from its npm lock file, and where screenshots go."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support.node_modules import NodePackage, Say
from tests.support.paths import ROOT, RUN

SCREENSHOTS = RUN / "screenshots"
AXE_PACKAGE = NodePackage(ROOT / "tests" / "support" / "browser", RUN / "browser-modules",
                          "the browser tests' accessibility checker (axe-core)")
# As root in a closed network: no sandbox (it needs user namespaces that root in a container
# may lack), no GPU, and none of the background connections that the network would refuse.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-default-browser-check", "--disable-default-apps", "--disable-extensions",
    "--password-store=basic", "--mute-audio", "--lang=en-US",
    # /dev/shm is 64 MiB in many CI containers, too small for Chromium's shared memory.
    "--disable-dev-shm-usage",
    # Screenshots of a known size: one device pixel per CSS pixel, no scrollbar gutter.
    "--force-device-scale-factor=1", "--hide-scrollbars",
)


class BrowserUnavailable(RuntimeError):
    """Chromium or chromedriver is not installed here: the browser tests skip."""


class BrowserError(RuntimeError):
    """The browser did not start, or a page did not do what a test waited for."""


def find_browser() -> tuple[str, str]:
    """Chromium and chromedriver (INNERSPACE_CHROMIUM and INNERSPACE_CHROMEDRIVER override
    the search of PATH); BrowserUnavailable says which is missing, BrowserError that their
    versions differ (chromedriver drives only its own Chromium version)."""
    found: dict[str, str] = {}
    for program, variable in (("chromium", "INNERSPACE_CHROMIUM"),
                              ("chromedriver", "INNERSPACE_CHROMEDRIVER")):
        path = os.environ.get(variable) or shutil.which(program)
        if path is None or not os.access(path, os.X_OK):
            raise BrowserUnavailable(
                f"{program} is not installed: `make setup` installs Debian's chromium and "
                f"chromium-driver (or set {variable} to the program)")
        found[program] = path
    versions = {program: _major_version(path) for program, path in found.items()}
    if len(set(versions.values())) != 1:
        raise BrowserError(f"chromium and chromedriver differ in version ({versions}): "
                           "install both from the same source")
    return found["chromium"], found["chromedriver"]


def _major_version(program: str) -> str:
    output = subprocess.run([program, "--version"], capture_output=True, text=True,
                            timeout=60).stdout
    match = re.search(r"\b(\d+)\.\d+\.\d+", output)
    return match.group(1) if match else output.strip()


def install_axe(say: Say) -> Path:
    """axe-core's axe.min.js, installed once from tests/support/browser/package-lock.json;
    raises NodeUnavailable when node or npm is missing."""
    _, modules = AXE_PACKAGE.install(say)
    return modules / "node_modules" / "axe-core" / "axe.min.js"


def folder_of_test(nodeid: str | None = None) -> str:
    """A folder name for the running test: its pytest node id, path separators and brackets
    made into dots and dashes (tests/a/test_b.py::test_c[x] -> a.test_b.test_c-x)."""
    nodeid = nodeid or os.environ.get("PYTEST_CURRENT_TEST", "no-test").rsplit(" ", 1)[0]
    nodeid = nodeid.removeprefix("tests/").replace(".py::", ".").replace("::", ".")
    return safe_name(nodeid.replace("/", "."))


def safe_name(text: str) -> str:
    """`text` as a file name: letters, digits, _ and . kept, runs of the rest made a -."""
    return re.sub(r"[^\w.]+", "-", text).strip("-.") or "unnamed"
