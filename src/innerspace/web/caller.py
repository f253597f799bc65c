"""Who is calling: the FastAPI dependency every router uses to learn the request's caller,
and the header that tells an authenticated caller who the service took them for."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from innerspace.auth import Authenticator, Caller

CALLER_STATE = "innerspace_caller"  # the request state's key of the caller, once known


def authenticator(request: Request) -> Authenticator:
    """The service's authenticator (made by the app factory; on first use otherwise)."""
    state = request.app.state
    found: Authenticator | None = getattr(state, "authenticator", None)
    if found is None:
        found = state.authenticator = Authenticator(state.settings.auth)
    return found


# A coroutine, so that FastAPI does not hand it to a worker thread.
async def get_caller(request: Request) -> Caller:
    """Who is behind the request: a trusted proxy's user, a bearer token's owner, or
    ANONYMOUS when anonymous access is allowed (else 401; 503 if the issuer is away)."""
    client = request.client
    caller = await authenticator(request).authenticate(
        request.headers.get("authorization"), client.host if client else None,
        request.headers)
    request.state.innerspace_caller = caller  # for VOAuthenticated (CALLER_STATE)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def header_value(owner: str) -> str:
    """An owner as a header value: printable ASCII as it is, anything else percent-encoded
    (owners are free text of the identity provider; headers are not)."""
    if owner.isascii() and owner.isprintable():
        return owner
    return quote(owner, safe="")


class VOAuthenticated:
    """`X-VO-Authenticated: <owner>` on every response to a request whose caller was
    authenticated (IVOA AuthVO); never on a response to an anonymous one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The request state every copy of this scope shares (Request.state lives in it).
        state = scope.setdefault("state", {})

        async def send_with_identity(message: Message) -> None:
            if message["type"] == "http.response.start":
                caller = state.get(CALLER_STATE)
                if isinstance(caller, Caller) and caller.owner is not None:
                    MutableHeaders(scope=message)["X-VO-Authenticated"] = \
                        header_value(caller.owner)
            await send(message)

        await self.app(scope, receive, send_with_identity)
