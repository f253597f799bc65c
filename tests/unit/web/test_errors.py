"""Errors into responses, in one place (web/errors.py): the renderer of the longest matching
URL prefix answers, plain text by default; innerspace's errors, the framework's own (unknown
routes, wrong methods, unreadable parameters) and unexpected exceptions all go through it.
An in-process app, no server."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from innerspace.errors import InnerspaceError, NotAuthenticated, NotFound
from innerspace.web.errors import ErrorRenderers, Renderer, install, json_or_html, plain_text
from tests.support import asgi


class Misplaced(NotFound):
    """A domain error with a topic, as the catalogue and the engines raise them."""

    topic: ClassVar[str | None] = "the shelf"


def tagged(tag: str) -> Renderer:
    """A renderer that says which one it is."""

    def render(_: Request, error: InnerspaceError) -> Response:
        return PlainTextResponse(f"{tag} {error.status} {error.describe()}",
                                 status_code=error.status)

    return render


class Client:
    """Requests to the app, in the test process."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, path: str, **options: Any) -> httpx.Response:
        return asgi.request(self.app, "GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return asgi.request(self.app, "POST", path, **options)


@pytest.fixture
def client() -> Client:
    app = FastAPI()

    @app.get("/apps/{name}")
    async def app_page(name: str) -> str:
        raise Misplaced(f"no app {name!r}")

    @app.get("/registry/tap/sync")
    async def tap_sync(maxrec: int) -> int:
        return maxrec

    @app.get("/registry/tapx")
    async def not_tap() -> None:
        raise NotFound("elsewhere")

    @app.get("/registry")
    async def registry_root() -> None:
        raise NotAuthenticated("who are you?")

    @app.get("/jobs/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    renderers = ErrorRenderers()
    renderers.register("/registry/", tagged("registry"))
    renderers.register("/registry/tap", tagged("tap"))
    renderers.register("/apps", json_or_html)
    install(app, renderers)
    return Client(app)


def test_the_longest_prefix_answers(client: Client) -> None:
    assert client.get("/registry/tap/sync").text.startswith("tap 400 ")
    assert client.get("/registry/tap/nothing").text == "tap 404 Not Found"
    assert client.get("/registry/tapx").text == "registry 404 elsewhere"
    assert client.get("/registry").text == "registry 401 who are you?"


def test_other_paths_get_plain_text(client: Client) -> None:
    response = client.get("/nowhere")
    assert (response.status_code, response.text) == (404, "Not Found\n")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_a_json_api_answers_json_or_a_page(client: Client) -> None:
    response = client.get("/apps/atlas")
    assert response.status_code == 404
    assert response.json() == {"error": "not-found",
                               "message": "the shelf: no app 'atlas'"}
    page = client.get("/apps/atlas", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>404: not found</h1><p>the shelf: no app &#x27;atlas&#x27;</p>" in page.text


def test_unreadable_parameters_are_a_bad_request(client: Client) -> None:
    response = client.get("/registry/tap/sync", params={"maxrec": "many"})
    assert response.status_code == 400
    assert response.text.startswith("tap 400 bad request: query.maxrec: ")


def test_a_wrong_method_is_405(client: Client) -> None:
    response = client.post("/registry/tapx")
    assert (response.status_code, response.text) == (405, "registry 405 Method Not Allowed")


def test_a_401_says_how_to_authenticate() -> None:
    response = plain_text(None, NotAuthenticated("a token, please"))  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.body == b"a token, please\n"


def test_an_unexpected_exception_is_a_500_in_the_protocol(client: Client) -> None:
    response = client.get("/jobs/boom")
    assert response.status_code == 500
    assert response.text == "the service failed unexpectedly; its log says more\n"
