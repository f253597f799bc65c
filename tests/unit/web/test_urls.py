"""The public base URL (web/urls.py): the configured public_url when there is one (behind a
proxy), else the URL the request came to; never with a trailing slash."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request

from innerspace.web.urls import base_url, url_for
from tests.support import asgi


def app_with(public_url: str | None) -> FastAPI:
    app = FastAPI()
    app.state.settings = SimpleNamespace(public_url=public_url)

    @app.get("/where")
    async def where(request: Request) -> dict[str, str]:
        return {"base": base_url(request), "jobs": url_for(request, "/jobs")}

    return app


@pytest.mark.parametrize(("public_url", "base"), [
    (None, "http://testserver"),
    ("https://vo.example/innerspace/", "https://vo.example/innerspace"),
    ("https://vo.example:8443", "https://vo.example:8443"),
])
def test_base_url(public_url: str | None, base: str) -> None:
    answer = asgi.request(app_with(public_url), "GET", "/where").json()
    assert answer == {"base": base, "jobs": f"{base}/jobs"}
