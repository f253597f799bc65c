"""Running a local OCI registry (Debian's `docker-registry`, the CNCF distribution registry)
with its storage under the data directory: what `innerspace repo serve` and set-up start."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CONFIG = """\
# Written by innerspace: a registry on loopback, no auth, storage under the data directory.
version: 0.1
log:
  level: warn
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: {address}
  headers:
    X-Content-Type-Options: [nosniff]
"""


class RegistryServerError(RuntimeError):
    """The registry cannot be started here; the message says what is missing."""


def write_config(data_dir: Path, address: str) -> Path:
    base = data_dir / "registry"
    storage = base / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = base / "config.yml"
    config.write_text(CONFIG.format(storage=storage, address=address))
    return config


def exec_registry(data_dir: Path, address: str = "127.0.0.1:5000") -> None:
    """Replace this process with the registry (foreground; stop it with Ctrl-C)."""
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        raise RegistryServerError(
            "docker-registry is not installed (on Debian: apt-get install -y docker-registry)")
    config = write_config(data_dir, address)
    os.execv(binary, [binary, "serve", str(config)])
