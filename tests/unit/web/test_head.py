"""HEAD on every GET resource (web/head.py), and the headers every response carries
(web/headers.py). An in-process app, no server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from innerspace.errors import NotFound
from innerspace.web.errors import ErrorRenderers, install
from innerspace.web.head import HeadAsGet
from innerspace.web.headers import DEFAULT_POLICY, SecurityHeaders
from tests.support import asgi

POLICY = "sandbox; default-src 'none'"


def head_app() -> FastAPI:
    app = FastAPI()

    @app.get("/text")
    async def text() -> Response:
        return PlainTextResponse("hello\n")

    @app.get("/stream")
    async def stream() -> Response:
        return StreamingResponse(iter([b"a" * 1000] * 5), media_type="application/x-stream")

    @app.get("/missing")
    async def missing() -> Response:
        raise NotFound("no such thing")

    @app.get("/own-policy")
    async def own_policy() -> Response:
        return PlainTextResponse("x", headers={"Content-Security-Policy": POLICY})

    @app.post("/only-post")
    async def only_post() -> str:
        return "posted"

    install(app, ErrorRenderers())
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders, exempt=["/docs"])
    return app


@pytest.fixture(scope="module")
def app() -> Iterator[FastAPI]:
    yield head_app()


def without_date(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "date"}


@pytest.mark.parametrize("path", ["/text", "/stream", "/missing", "/own-policy",
                                  "/nowhere", "/openapi.json", "/docs"])
def test_head_answers_as_get_without_a_body(app: FastAPI, path: str) -> None:
    got = asgi.request(app, "GET", path)
    head = asgi.request(app, "HEAD", path)
    assert head.status_code == got.status_code
    assert head.content == b"" and got.content != b""
    assert without_date(head.headers) == without_date(got.headers)


def test_head_of_a_post_only_resource_is_405(app: FastAPI) -> None:
    head = asgi.request(app, "HEAD", "/only-post")
    assert (head.status_code, head.content) == (405, b"")
    assert head.headers["allow"] == "POST"


def test_head_keeps_the_content_length(app: FastAPI) -> None:
    head = asgi.request(app, "HEAD", "/text")
    assert head.headers["content-length"] == "6"


def test_every_response_says_nosniff_and_loads_nothing(app: FastAPI) -> None:
    for path in ("/text", "/missing", "/nowhere", "/openapi.json"):
        response = asgi.request(app, "GET", path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["content-security-policy"] == DEFAULT_POLICY, path


def test_a_response_keeps_its_own_policy(app: FastAPI) -> None:
    response = asgi.request(app, "GET", "/own-policy")
    assert response.headers.get_list("content-security-policy") == [POLICY]


def test_the_api_documentation_page_loads_its_scripts(app: FastAPI) -> None:
    response = asgi.request(app, "GET", "/docs")
    assert response.status_code == 200 and "<script" in response.text
    assert "content-security-policy" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
