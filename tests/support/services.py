"""innerspace services for tests, each with its own data directory: in a thread of the test
process (LiveService), or as an `innerspace serve` process of its own (ProcessService)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import ServerThread, free_port


class LiveService:
    """An innerspace service on a free loopback port, run by uvicorn in a thread."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        self.data_dir = data_dir
        self.settings_overrides = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ServerThread | None = None

    @property
    def settings(self) -> Any:
        from innerspace.config import Settings

        overrides = {"public_url": self.url, **self.settings_overrides}
        return Settings(data_dir=self.data_dir, **overrides)

    def start(self) -> LiveService:
        from innerspace.server import create_app

        # Several services share this test process, each in a thread with its own event
        # loop: the standard asyncio loop, as uvloop is not meant for that.
        self._server = ServerThread(create_app(self.settings), self.port,
                                    "the innerspace service", lifespan="on", loop="asyncio")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def restart(self) -> LiveService:
        self.stop()
        return self.start()

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


class ProcessService:
    """An `innerspace serve` process: a data centre of its own, as in production (used where
    several services must answer at the same time)."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "INNERSPACE_PUBLIC_URL": self.url, "PYTHONFAULTHANDLER": "1"}
        for key, value in settings.items():
            self.env[f"INNERSPACE_{key.upper()}"] = (
                value if isinstance(value, str) else json.dumps(value))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ProcessService:
        log = (self.data_dir / "service.log").open("w")
        self._process = subprocess.Popen(
            [str(Path(sys.executable).parent / "innerspace"), "serve", "--data-dir",
             str(self.data_dir), "--port", str(self.port), "--log-level", "warning"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/availability", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("service did not start: "
                                   + (self.data_dir / "service.log").read_text()[-2000:])
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        """The process id of the running service."""
        assert self._process is not None, "the service is not running"
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)
