"""HEAD on every GET resource: HTTP requires it, and clients (and proxies) use it to learn a
result's size or type without downloading it.

FastAPI's routes answer only the methods they declare, so HEAD met 405 everywhere. This
middleware hands a HEAD request to the GET handler and sends its status and headers
(Content-Length included: it describes the body a GET would get) without the body. Whatever
can answer a HEAD without making the body (a file response: `is_head`) may skip that work.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEAD_MARK = "innerspace.head"  # in the scope of a HEAD request passed on as GET


def is_head(scope: Scope) -> bool:
    """Whether this GET is really a HEAD (its body will be dropped)."""
    return bool(scope.get(HEAD_MARK))


class HeadAsGet:
    """HEAD answered by the GET handler, with its status and headers and no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def send_without_body(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] in ("http.response.body", "http.response.pathsend"):
                final = message["type"] == "http.response.pathsend" or not message.get(
                    "more_body", False)
                if final and not ended:
                    ended = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        await self.app({**scope, "method": "GET", HEAD_MARK: True}, receive, send_without_body)
