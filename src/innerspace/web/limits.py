"""ASGI middleware that bounds what one request may make the service hold."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from innerspace.errors import TooLarge


class BodySizeLimit:
    """A request body larger than `limit` bytes ends in 413, however it is sent
    (Content-Length or chunked), before it fills memory or disk."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise TooLarge(f"the request body is larger than the limit of "
                                   f"{self.limit} bytes")
            return message

        await self.app(scope, counting_receive, send)
