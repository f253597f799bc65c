"""The request body limit (web/limits.py): a body over the limit ends in 413 whether it is
sent with a Content-Length or chunked; one within the limit reaches the handler whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import FastAPI, Request

from innerspace.web.errors import ErrorRenderers, install
from innerspace.web.limits import BodySizeLimit
from tests.support import asgi

LIMIT = 1000


def limited_app() -> FastAPI:
    app = FastAPI()

    @app.post("/upload")
    async def upload(request: Request) -> int:
        return len(await request.body())

    install(app, ErrorRenderers())
    app.add_middleware(BodySizeLimit, limit=LIMIT)
    return app


async def chunks(size: int, pieces: int) -> AsyncIterator[bytes]:
    """A body sent chunked: an iterator has no length to announce."""
    for _ in range(pieces):
        yield b"x" * size


def test_a_body_within_the_limit_arrives_whole() -> None:
    response = asgi.request(limited_app(), "POST", "/upload", content=b"x" * LIMIT)
    assert (response.status_code, response.json()) == (200, LIMIT)


def test_a_body_over_the_limit_is_413() -> None:
    response = asgi.request(limited_app(), "POST", "/upload", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.text == "the request body is larger than the limit of 1000 bytes\n"


def test_a_chunked_body_over_the_limit_is_413() -> None:
    response = asgi.request(limited_app(), "POST", "/upload", content=chunks(300, 4))
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.text == "the request body is larger than the limit of 1000 bytes\n"
