"""A real OCI registry for tests: Debian's docker-registry (CNCF distribution) on a free
loopback port."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port


def registry_binary() -> str | None:
    """The docker-registry program, if installed (`make setup` installs it)."""
    return shutil.which("docker-registry")


class LiveRegistry:
    """docker-registry serving `storage`. The tests keep the storage in .run/test-registry,
    so that the big base layer is pushed once, not per run."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.storage.parent / f"config-{self.port}.yml"

    def start(self) -> LiveRegistry:
        from innerspace.apps.registry_server import CONFIG

        binary = registry_binary()
        if binary is None:
            raise RuntimeError("docker-registry is not installed; `make setup` installs it")
        self.storage.mkdir(parents=True, exist_ok=True)
        self.config.write_text(CONFIG.format(storage=self.storage, address=self.host))
        self._process = subprocess.Popen([binary, "serve", str(self.config)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.url}/v2/", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the test registry did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None
            self.config.unlink(missing_ok=True)

    def repository(self, namespace: str = "innerspace") -> dict[str, Any]:
        """Service settings pointing at this registry."""
        return {"url": self.url, "namespace": namespace, "cache_ttl": 60}
