"""Errors become responses here, in one place.

Every `InnerspaceError` (and the web framework's own errors: unknown routes, wrong methods,
unreadable parameters) is answered by the renderer of the protocol the request spoke. The app
factory registers one renderer per URL prefix (a TAP error VOTable under /registry/tap, an
OAI-PMH error document under /registry/oai, JSON under /apps, ...); UWS's plain text is the
default. An unexpected exception is logged and answered 500 by the same renderer, so that no
client ever meets a response its protocol does not define.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from innerspace.auth import Challenges
from innerspace.errors import InnerspaceError, for_status
from innerspace.web.urls import base_url

log = logging.getLogger("innerspace.web")

Renderer = Callable[[Request, InnerspaceError], Response]


def challenge_headers(error: InnerspaceError) -> dict[str, str] | None:
    """A 401 says how to authenticate (the service's own challenges replace this in
    ErrorRenderers.render)."""
    return {"WWW-Authenticate": "Bearer"} if error.status == 401 else None


def challenges_for(request: Request, error: InnerspaceError) -> list[str]:
    """The WWW-Authenticate challenges of a 401: the service's (app.state.challenges, from
    its auth settings), else a bare Bearer."""
    challenges: Challenges | None = getattr(request.app.state, "challenges", None)
    return challenges.for_error(base_url(request), error) if challenges else ["Bearer"]


def plain_text(_: Request, error: InnerspaceError) -> Response:
    """UWS and VOSI: the message as text/plain (UWS 1.1 leaves error bodies to services)."""
    return PlainTextResponse(error.describe() + "\n", status_code=error.status,
                             headers=challenge_headers(error))


def json_document(_: Request, error: InnerspaceError) -> Response:
    """JSON APIs: {"error": code, "message": text}."""
    return JSONResponse({"error": error.code, "message": error.describe()},
                        status_code=error.status, headers=challenge_headers(error))


def html_page(_: Request, error: InnerspaceError) -> Response:
    """A small page for a person with a browser."""
    title = f"{error.status}: {error.code.replace('-', ' ')}"
    body = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
            f"<p>{escape(error.describe())}</p></body></html>")
    return HTMLResponse(body, status_code=error.status, headers=challenge_headers(error))


def wants_html(request: Request) -> bool:
    """A browser asking for a page rather than a program asking for data."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def json_or_html(request: Request, error: InnerspaceError) -> Response:
    return (html_page if wants_html(request) else json_document)(request, error)


class ErrorRenderers:
    """Which renderer answers the errors of which URL prefix (the longest prefix wins)."""

    def __init__(self, default: Renderer = plain_text) -> None:
        self.default = default
        self._by_prefix: list[tuple[str, Renderer]] = []

    def register(self, prefix: str, renderer: Renderer) -> None:
        self._by_prefix.append((prefix.rstrip("/"), renderer))
        self._by_prefix.sort(key=lambda item: len(item[0]), reverse=True)

    def for_path(self, path: str) -> Renderer:
        for prefix, renderer in self._by_prefix:
            if path == prefix or path.startswith(prefix + "/"):
                return renderer
        return self.default

    def render(self, request: Request, error: InnerspaceError,
               headers: dict[str, str] | None = None) -> Response:
        response = self.for_path(request.url.path)(request, error)
        if error.status == 401:  # whichever protocol answers, one set of challenges
            del response.headers["www-authenticate"]
            for challenge in challenges_for(request, error):
                response.headers.append("WWW-Authenticate", challenge)
        if error.retry_after is not None:
            response.headers.setdefault("Retry-After", str(error.retry_after))
        for name, value in (headers or {}).items():
            response.headers.setdefault(name, value)
        return response

    async def answer(self, error: InnerspaceError, scope: Scope, receive: Receive,
                     send: Send) -> None:
        """Answer `error` from an ASGI middleware, which runs outside the exception
        handlers that `install` registers."""
        await self.render(Request(scope, receive), error)(scope, receive, send)


def _validation_message(exc: RequestValidationError) -> str:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                         for e in exc.errors())
    return f"bad request: {problems}"


def install(app: FastAPI, renderers: ErrorRenderers) -> None:
    """Answer every error of `app` through `renderers`."""

    @app.exception_handler(InnerspaceError)
    async def innerspace_error(request: Request, exc: InnerspaceError) -> Response:
        return renderers.render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return renderers.render(request, for_status(400, _validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return renderers.render(request, for_status(exc.status_code, str(exc.detail)),
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error answering %s %s", request.method, request.url.path,
                  exc_info=exc)
        return renderers.render(request, InnerspaceError(
            "the service failed unexpectedly; its log says more"))
