"""Fixtures of the packaging tests: PyPI (the `network` marker follows from `pypi`), the
wheel and sdist built from a copy of the checkout, and a clean venv holding the wheel as a
client installs it.

pip runs without this machine's pip configuration (local find-links and extra indexes), so
that the clean venv gets what a user's `pip install` gets from PyPI; pip's cache is used.
INNERSPACE_TEST_INDEX_URL names another index (a mirror of PyPI) if needed."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.paths import ROOT, SRC

INDEX = os.environ.get("INNERSPACE_TEST_INDEX_URL", "https://pypi.org/simple")
# Generous: a cold pip cache downloads the dependencies over whatever network there is.
INSTALL_TIMEOUT = 1800
# What a client-only install must not hold (by distribution name, as pip lists them).
SERVER_DISTRIBUTIONS = ("docker", "sqlalchemy", "psycopg", "psycopg-binary", "uvloop",
                        "astropy", "fastapi", "uvicorn", "alembic", "numpy", "pyvo", "jinja2",
                        "pillow")


@dataclass
class Timings:
    """Seconds each step took, reported at the end of the module (never asserted)."""

    steps: dict[str, float] = field(default_factory=dict)

    def run(self, step: str, command: list[str | Path]) -> str:
        started = time.monotonic()
        try:
            done = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT, env=pip_environment(),
                                  check=False)
        finally:
            self.steps[step] = self.steps.get(step, 0.0) + time.monotonic() - started
        assert done.returncode == 0, (f"{step} failed ({done.returncode}):\n"
                                      f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return str(done.stdout)


def pip_environment() -> dict[str, str]:
    """The environment for pip: PyPI only (no local configuration), cache allowed."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    environment.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=INDEX,
                       PIP_DISABLE_PIP_VERSION_CHECK="1",
                       PIP_DEFAULT_TIMEOUT=os.environ.get("PIP_DEFAULT_TIMEOUT", "180"))
    if os.environ.get("PIP_CERT"):  # a CA bundle this machine's TLS needs
        environment["PIP_CERT"] = os.environ["PIP_CERT"]
    return environment


@pytest.fixture(scope="session")
def pypi() -> str:
    """The package index, reachable (or a clear failure: deselect with -m "not network")."""
    try:
        cafile = os.environ.get("PIP_CERT")
        verify = ssl.create_default_context(cafile=cafile) if cafile else True
        httpx.get(f"{INDEX.rstrip('/')}/pip/", timeout=60, follow_redirects=True,
                  verify=verify).raise_for_status()
    except httpx.HTTPError as exc:
        pytest.fail(f"the package index {INDEX} is out of reach ({exc}); these tests install "
                    "from it (set INNERSPACE_TEST_INDEX_URL, or deselect: -m 'not network')")
    return INDEX


@pytest.fixture(scope="module")
def timings() -> Iterator[Timings]:
    kept = Timings()
    yield kept
    print("packaging timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in kept.steps.items()))


@dataclass
class Built:
    wheel: Path  # built from the source tree
    sdist: Path
    wheel_from_sdist: Path


def source_copy(target: Path) -> Path:
    """What a fresh clone holds for building: pyproject.toml, README.md and src/ (without
    caches or the checkout's editable-install metadata)."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(SRC, target / "src", ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "*.egg-info"))
    return target


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {folder}, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def built(pypi: str, tmp_path_factory: pytest.TempPathFactory, timings: Timings) -> Built:
    """The wheel built from the tree, the sdist, and the wheel built from that sdist (build
    isolation: setuptools comes from the index as for any user)."""
    base = tmp_path_factory.mktemp("packaging")
    source = source_copy(base)
    # No flags: the sdist, then a wheel built from the unpacked sdist.
    timings.run("build sdist+wheel", [sys.executable, "-m", "build", "--outdir",
                                      base / "from-sdist", source])
    timings.run("build wheel", [sys.executable, "-m", "build", "--wheel", "--outdir",
                                base / "direct", source])
    return Built(wheel=only(base / "direct", "*.whl"),
                 sdist=only(base / "from-sdist", "*.tar.gz"),
                 wheel_from_sdist=only(base / "from-sdist", "*.whl"))


@dataclass
class Venv:
    path: Path

    @property
    def bin(self) -> Path:
        return self.path / ("Scripts" if os.name == "nt" else "bin")

    def installed(self) -> set[str]:
        """The distributions pip lists, by normalised name."""
        names = subprocess.run(
            [str(self.bin / "python"), "-c",
             "import importlib.metadata as m; "
             "print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"],
            capture_output=True, text=True, check=True, timeout=120).stdout.split()
        return {n.lower().replace("_", "-").replace(".", "-") for n in names}


def make_venv(path: Path, timings: Timings, step: str, requirement: str) -> Venv:
    timings.run(f"{step}: venv", [sys.executable, "-m", "venv", path])
    venv = Venv(path)
    timings.run(f"{step}: pip install", [venv.bin / "python", "-m", "pip", "install",
                                         requirement])
    return venv


@pytest.fixture(scope="module")
def client_venv(built: Built, tmp_path_factory: pytest.TempPathFactory,
                timings: Timings) -> Venv:
    """A clean venv holding the wheel and its (base) dependencies from the index."""
    return make_venv(tmp_path_factory.mktemp("client") / "venv", timings, "client",
                     str(built.wheel))


@pytest.fixture(scope="module")
def server_venv(built: Built, tmp_path_factory: pytest.TempPathFactory,
                timings: Timings) -> Venv:
    """A clean venv holding the wheel with the service and PostgreSQL extras."""
    return make_venv(tmp_path_factory.mktemp("server") / "venv", timings, "server",
                     f"innerspace[server,postgres] @ {built.wheel.as_uri()}")
