"""node for the test OpenID provider (tests/support/oidc/): finding node and npm, and its
modules installed once with `npm ci` from the committed lock file into
.run/oidc-provider/<hash of package.json and the lock file>/, then reused (npm's own cache
keeps the packages too, and --prefer-offline uses it before the network)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support.paths import ROOT, RUN

SOURCE = ROOT / "tests" / "support" / "oidc"
MODULES_CACHE = RUN / "oidc-provider"
NODE_MAJOR = 20  # the oldest node the provider is checked on (ES modules, util.parseArgs)

Say = Callable[[str], None]


class ProviderUnavailable(RuntimeError):
    """node or npm is missing or too old here: the tests that need the provider skip."""


class ProviderError(RuntimeError):
    """The provider could not be installed or started, or did not answer as expected."""


def node_toolchain(need_npm: bool) -> tuple[str, str | None]:
    """The node (and, when modules must be installed, npm) programs; ProviderUnavailable
    says why not."""
    node = shutil.which("node")
    if node is None:
        raise ProviderUnavailable("node is not installed (the test OpenID provider runs on "
                                  f"node >= {NODE_MAJOR})")
    version = subprocess.run([node, "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        raise ProviderUnavailable(f"node {version} is too old for the test OpenID provider "
                                  f"(it needs node >= {NODE_MAJOR})")
    npm = shutil.which("npm")
    if need_npm and npm is None:
        raise ProviderUnavailable("npm is not installed: it installs the test OpenID "
                                  "provider's modules (once; they are cached in .run/)")
    return node, npm


def modules_key() -> str:
    """What the installed modules depend on: package.json and the lock file."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((SOURCE / name).read_bytes())
    return digest.hexdigest()[:16]


def install_modules(say: Say) -> tuple[str, Path]:
    """`npm ci` the provider's modules into the cache, once per lock file; returns node and
    the folder holding node_modules. Sessions running at the same time wait for each other."""
    target = MODULES_CACHE / modules_key()
    done = target / "node_modules" / ".innerspace-installed"
    node, npm = node_toolchain(need_npm=not done.is_file())
    MODULES_CACHE.mkdir(parents=True, exist_ok=True)
    with (MODULES_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return node, target
        assert npm is not None
        say(f"installing the test OpenID provider's node modules into {target} "
            "(npm ci from tests/support/oidc/package-lock.json; once per lock file)")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(SOURCE / name, target / name)
        # --prefer-offline: packages already in npm's cache are not fetched again;
        # --ignore-scripts: none of these packages needs an install script.
        result = subprocess.run(
            [npm, "ci", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund",
             "--loglevel=error"], cwd=target, capture_output=True, text=True, timeout=600,
            env={**os.environ, "npm_config_update_notifier": "false"})
        if result.returncode != 0:
            raise ProviderError(f"npm ci failed in {target} (it needs the npm registry, or "
                                f"the packages in npm's cache):\n{result.stdout}{result.stderr}")
        done.write_text(modules_key())
        say("installed the test OpenID provider's node modules")
    return node, target


def stage_script(modules: Path) -> Path:
    """provider.mjs copied beside the installed node_modules; returns its path."""
    # Node resolves the imports of an ES module from the module's own folder (NODE_PATH is
    # not used for them), so the script runs from beside the installed node_modules.
    script = modules / "provider.mjs"
    staged = modules / f".provider-{os.getpid()}-{secrets.token_hex(4)}.mjs"
    shutil.copy2(SOURCE / "provider.mjs", staged)
    staged.replace(script)
    return script
