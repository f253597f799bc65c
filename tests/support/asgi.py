"""Requests to an ASGI app in the test process, without a server or a thread: for unit
tests of what routers and middleware answer."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


def request(app: Any, method: str, path: str, **options: Any) -> httpx.Response:
    """One request to `app`; an exception the app lets through becomes its 500 answer, as
    the server would send it."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, path, **options)

    return asyncio.run(send())
