"""Job files served so that none can act with the service's origin (web/downloads.py): passive
types inline and everything else (HTML, SVG, XML, JavaScript, PDF, unknown) as attachments,
file names RFC 6266-encoded, nosniff, a sandboxing policy and same-origin resource policy on
every one; HEAD sends the headers without reading the file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.types import Message

from innerspace.web import downloads
from innerspace.web.head import HEAD_MARK, HeadAsGet
from tests.support import asgi


@pytest.mark.parametrize("media_type", [
    "text/plain", "text/plain; charset=utf-8", "text/csv", "application/json", "image/png",
    "image/jpeg", "image/gif", "image/webp", "application/fits", "application/x-hdf5",
    "text/x-ecsv", "application/vnd.apache.parquet", "IMAGE/PNG",
])
def test_passive_types_are_inline(media_type: str) -> None:
    assert downloads.content_disposition(media_type, "r").startswith("inline;")


@pytest.mark.parametrize("media_type", [
    "text/html", "text/html; charset=utf-8", "application/xhtml+xml", "image/svg+xml",
    "application/xml", "text/xml", "application/x-votable+xml", "text/javascript",
    "application/javascript", "application/pdf", "application/octet-stream", "text/css",
    "application/x-shockwave-flash", "multipart/x-mixed-replace", "", "nonsense",
])
def test_active_and_unknown_types_are_attachments(media_type: str) -> None:
    assert downloads.content_disposition(media_type, "r").startswith("attachment;")


@pytest.mark.parametrize(("name", "header"), [
    ("greeting.txt", "inline; filename=\"greeting.txt\"; filename*=UTF-8''greeting.txt"),
    ('naïve "x";y.txt', "inline; filename=\"na_ve _x__y.txt\"; "
                        "filename*=UTF-8''na%C3%AFve%20%22x%22%3By.txt"),
    ("a\r\nSet-Cookie: x=1.txt", "inline; filename=\"a__Set-Cookie_ x_1.txt\"; "
                                 "filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1.txt"),
    ("\u00e9", "inline; filename=\"_\"; filename*=UTF-8''%C3%A9"),
])
def test_file_names_are_rfc6266_encoded(name: str, header: str) -> None:
    assert downloads.content_disposition("text/plain", name) == header


def file_app(path: Path, media_type: str) -> FastAPI:
    app = FastAPI()

    @app.get("/file")
    async def serve() -> FileResponse:
        return downloads.job_file(path, media_type, path.name)

    app.add_middleware(HeadAsGet)
    return app


def test_every_job_file_carries_the_protective_headers(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<script>alert(document.domain)</script>")
    response = asgi.request(file_app(path, "text/html"), "GET", "/file")
    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert response.headers["cross-origin-resource-policy"] == "same-origin"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"page.html\"; filename*=UTF-8''page.html")


def test_head_answers_like_get_without_the_body(tmp_path: Path) -> None:
    path = tmp_path / "big.fits"
    path.write_bytes(b"\0" * 300_000)
    app = file_app(path, "application/fits")
    got = asgi.request(app, "GET", "/file")
    head = asgi.request(app, "HEAD", "/file")
    assert (head.status_code, head.content, len(got.content)) == (200, b"", 300_000)
    assert {k: v for k, v in head.headers.items() if k != "date"} == \
        {k: v for k, v in got.headers.items() if k != "date"}
    assert head.headers["content-length"] == "300000"


def test_a_head_passed_on_as_get_does_not_read_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.fits"
    path.write_bytes(b"\0" * 300_000)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", HEAD_MARK: True, "headers": [],
             "path": "/file"}
    asyncio.run(downloads.job_file(path, "application/fits", "big.fits")(scope, receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b"" and not sent[1].get("more_body", False)
