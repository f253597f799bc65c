"""Serving on loopback: a free port, and an ASGI app served by uvicorn in a thread of the
test process (how the tests run innerspace's services and its protocol routers)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server(uvicorn.Server):
    """uvicorn's server, woken when told to stop: uvicorn's own looks at `should_exit` only
    every 0.1 s (its main loop sleeps in between), which the suite's many servers add up."""

    _loop: asyncio.AbstractEventLoop | None = None
    _woken: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()  # made before the first look at should_exit
        ticking = asyncio.ensure_future(super().main_loop())
        woken = asyncio.ensure_future(self._woken.wait())
        await asyncio.wait([ticking, woken], return_when=asyncio.FIRST_COMPLETED)
        for task in (ticking, woken):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def stop(self) -> None:
        self.should_exit = True  # before looking for the loop: seen if main_loop starts later
        if self._loop is not None and self._woken is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._loop.call_soon_threadsafe(self._woken.set)


class ServerThread:
    """uvicorn serving `app` on 127.0.0.1:`port` in a daemon thread; `options` are
    uvicorn.Config's (lifespan, loop, ...)."""

    def __init__(self, app: Any, port: int, what: str, **options: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                **options)
        self.what = what
        self.server = _Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout: float = 30) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.what} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(30)
