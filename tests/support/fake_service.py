"""The whole innerspace web service on a real loopback socket, with its job machinery on the
fake engine (no Docker): every router, middleware and error renderer as `create_app` wires
them, for tests of what requests meet - identity, challenges, headers - where no job needs
to run in a container. Served by uvicorn in a thread of the test process (as LiveService),
so that the request's TCP peer is real and the service's log records are this process's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
from fastapi import FastAPI

from tests.support.net import ServerThread, free_port
from tests.support.uws_harness import DemoCatalogue, UWSHarness


class FakeEngineService:
    """`create_app(Settings(data_dir, **settings))` whose lifespan runs the UWS harness (fake
    engine, the demo app) instead of Docker; `harness` is the running one."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", **settings: Any) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.settings_overrides = settings
        self.harness: UWSHarness | None = None
        self.app: FastAPI | None = None
        self._server: ServerThread | None = None

    @property
    def settings(self) -> Any:
        from innerspace.config import Settings

        return Settings(data_dir=self.data_dir,
                        **{"public_url": self.url, **self.settings_overrides})

    def start(self) -> FakeEngineService:
        from innerspace.server import Services, create_app

        settings = self.settings
        app = create_app(settings)

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            catalogue = DemoCatalogue()
            async with UWSHarness(self.data_dir, catalogue=catalogue) as uws:
                self.harness = uws
                # The registry is not needed by the routes these tests call.
                app.state.services = Services(
                    settings, uws.store, uws.engine, cast(Any, catalogue), uws.runner,
                    uws.service, datetime.now(UTC), cast(Any, None), cast(Any, None),
                    cast(Any, None))
                yield

        app.router.lifespan_context = lifespan
        self.app = app
        # proxy_headers off, as `innerspace serve` runs: the TCP peer is the client.
        self._server = ServerThread(app, self.port, "the innerspace service (fake engine)",
                                    lifespan="on", loop="asyncio", proxy_headers=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeEngineService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)
