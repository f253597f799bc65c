"""Reading form bodies (web/forms.py, web/formparsers.py): urlencoded bodies parsed as a
stream under one cap on their bytes and one on their fields, decoded as UTF-8 field by
field; multipart bodies with one cap on all that is not a file (values, part headers,
boundaries), caps on fields and files, uploads still spooled; a Content-Length past the caps
refused before the body is read. An in-process app, no server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.datastructures import UploadFile

from innerspace.web import forms
from innerspace.web.errors import ErrorRenderers, install
from innerspace.web.formparsers import FormLimits
from tests.support import asgi

LIMITS = FormLimits(max_size=4096, max_fields=20, max_files=2, max_upload_size=100_000)
URLENCODED = {"content-type": "application/x-www-form-urlencoded"}
BOUNDARY = "test-boundary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def form_app(limits: FormLimits = LIMITS) -> FastAPI:
    """Answers the fields it read: text as text, uploads as their name and size."""
    app = FastAPI()

    @app.post("/form")
    async def read(request: Request) -> list[list[Any]]:
        async with forms.form_fields(request, limits) as fields:
            return [[name, value if isinstance(value, str)
                     else {"file": value.filename, "size": len(await value.read())}]
                    for name, value in fields]

    install(app, ErrorRenderers())
    return app


def post(body: Any, headers: dict[str, str], path: str = "/form",
         limits: FormLimits = LIMITS) -> httpx.Response:
    return asgi.request(form_app(limits), "POST", path, content=body, headers=headers)


async def chunked(*pieces: bytes) -> AsyncIterator[bytes]:
    """A body sent without a Content-Length, as these pieces."""
    for piece in pieces:
        yield piece


def part(name: str, value: bytes, filename: str | None = None,
         extra: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n".encode()
            + value + b"\r\n")


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


# -- urlencoded ------------------------------------------------------------------------------

def test_urlencoded_fields_arrive_in_order_with_the_query() -> None:
    body = b"name=Ada+Lovelace&note=%E2%98%83+caf%C3%A9&empty=&bare&name=again"
    response = post(body, URLENCODED, path="/form?first=1")
    assert response.status_code == 200, response.text
    assert response.json() == [["first", "1"], ["name", "Ada Lovelace"], ["note", "☃ café"],
                               ["empty", ""], ["bare", ""], ["name", "again"]]


def test_raw_utf8_bytes_are_read_as_utf8() -> None:
    response = post("name=café".encode(), URLENCODED)
    assert response.json() == [["name", "café"]]


def test_no_content_type_is_read_as_urlencoded() -> None:
    response = post(b"a=1", {})
    assert response.json() == [["a", "1"]]


@pytest.mark.parametrize(("body", "message"), [
    (b"app=hello&name=%ff%fe", "parameter 'name' holds bytes that are not valid UTF-8 text"),
    (b"app=hello&name=\xff", "parameter 'name' holds bytes that are not valid UTF-8 text"),
    (b"app=hello&\xffname=x", "a parameter name ('\ufffdname') is not valid UTF-8 text"),
    (b"name=a%01b", "parameter 'name' holds control characters that cannot be stored"),
])
def test_undecodable_or_unstorable_text_is_400(body: bytes, message: str) -> None:
    response = post(body, URLENCODED)
    assert (response.status_code, response.text) == (400, message + "\n")


def test_a_content_length_over_the_cap_is_refused_before_reading() -> None:
    response = post(b"a=&" * 2000, URLENCODED)
    assert response.status_code == 413
    assert response.text == ("the request body (6000 bytes) is larger than the limit of 4096 "
                              "bytes for form fields\n")


@pytest.mark.parametrize("body", [
    (b"a=" + b"x" * 1000,) * 5,  # one field growing past the cap
    (b"a=" + b"x" * 300 + b"&",) * 15,  # fields under the field cap, past the byte cap
    (b"&" * 1000,) * 5,  # separators only: they are bytes too
], ids=["one-field", "many-fields", "separators"])
def test_a_chunked_body_over_the_cap_is_413(body: tuple[bytes, ...]) -> None:
    response = post(chunked(*body), URLENCODED)
    assert response.status_code == 413
    assert response.text == "the form fields are larger than the limit of 4096 bytes " \
                            "(uploaded files aside)\n"


def test_too_many_fields_is_413() -> None:
    response = post(chunked(*(b"a=&",) * 21), URLENCODED)
    assert (response.status_code, response.text) == (413, "the form has more than 20 fields\n")
    assert post(b"a=&" * 20, URLENCODED).status_code == 200


# -- multipart -------------------------------------------------------------------------------

def test_multipart_fields_and_uploads_arrive() -> None:
    body = multipart(part("app", b"fits-stats"), part("note", "café".encode()),
                     part("image", b"\0" * 70_000, filename="a.fits"))
    response = post(body, MULTIPART)
    assert response.status_code == 200, response.text
    assert response.json() == [["app", "fits-stats"], ["note", "café"],
                               ["image", {"file": "a.fits", "size": 70_000}]]


def test_many_small_text_parts_are_413() -> None:
    small = multipart(*(part(f"p{i}", b"v" * 300) for i in range(100)))
    response = post(chunked(small), MULTIPART)
    assert response.status_code == 413
    assert response.text == "the form fields are larger than the limit of 4096 bytes " \
                            "(uploaded files aside)\n"


def test_part_headers_count_against_the_cap() -> None:
    # python-multipart allows 8 headers of 4 KiB each per part: headers count here too.
    headers = "".join(f"X-Padding-{i}: {'y' * 1000}\r\n" for i in range(5))
    response = post(multipart(part("app", b"hello", extra=headers)), MULTIPART)
    assert response.status_code == 413
    assert "larger than the limit of 4096 bytes" in response.text


def test_multipart_field_and_file_counts_are_capped() -> None:
    fields = post(multipart(*(part(f"p{i}", b"1") for i in range(21))), MULTIPART)
    assert (fields.status_code, fields.text) == (413, "the form has more than 20 fields\n")
    files = post(multipart(*(part(f"f{i}", b"1", filename=f"{i}.txt") for i in range(3))),
                 MULTIPART)
    assert (files.status_code, files.text) == (413, "the form has more than 2 files\n")


def test_uploads_refused_where_none_are_taken() -> None:
    response = post(multipart(part("query", b"SELECT 1"), part("t", b"x", filename="t.xml")),
                    MULTIPART, limits=replace(LIMITS, max_files=0))
    assert (response.status_code, response.text) == (400, "file uploads are not accepted here\n")


def test_multipart_content_length_past_fields_and_uploads_is_refused() -> None:
    body = multipart(part("image", b"\0" * 110_000, filename="big.fits"))
    response = post(body, MULTIPART)
    assert response.status_code == 413
    assert "larger than the limit of 104096 bytes for a form with its uploads" in response.text


def test_a_chunked_multipart_body_past_fields_and_uploads_is_413() -> None:
    body = multipart(part("image", b"\0" * 110_000, filename="big.fits"))
    response = post(chunked(body[:50_000], body[50_000:]), MULTIPART)
    assert (response.status_code, response.text) == (413, (
        "the request body is larger than the limit of 104096 bytes (form fields and uploaded "
        "files together)\n"))


@pytest.mark.parametrize(("body", "words"), [
    (multipart(part("name", b"\xff\xfe")), "the value of 'name' is not valid utf-8 text"),
    (multipart(part("naïve", b"x")), "is not ascii"),
    (b"--x\r\nno headers here", "malformed multipart body"),
])
def test_unreadable_multipart_is_400(body: bytes, words: str) -> None:
    headers = MULTIPART if body.startswith(b"--" + BOUNDARY.encode()) else {
        "content-type": "multipart/form-data; boundary=x"}
    response = post(body, headers)
    assert response.status_code == 400
    assert words in response.text.lower()


def test_other_content_types_are_400() -> None:
    response = post(b'{"app": "hello"}', {"content-type": "application/json"})
    assert response.status_code == 400
    assert "unsupported content type 'application/json'" in response.text


# -- the limits the settings give --------------------------------------------------------

@pytest.fixture
def settings_app() -> Iterator[FastAPI]:
    from innerspace.config import Settings

    app = FastAPI()
    app.state.settings = Settings(limits={"max_form_size": "2K", "max_form_fields": 5,
                                          "max_upload_size": 10_000})

    @app.post("/plain")
    async def plain(request: Request) -> dict[str, str]:
        return await forms.plain_fields(request)

    @app.post("/limits")
    async def limits(request: Request) -> list[int]:
        found = forms.limits_of(request)
        return [found.max_size, found.max_fields, found.max_files, found.max_upload_size]

    install(app, ErrorRenderers())
    yield app


def test_the_settings_give_the_limits(settings_app: FastAPI) -> None:
    assert asgi.request(settings_app, "POST", "/limits").json() == [2048, 5, 64, 10_000]
    response = asgi.request(settings_app, "POST", "/plain", content=b"a=&" * 6,
                            headers=URLENCODED)
    assert (response.status_code, response.text) == (413, "the form has more than 5 fields\n")
    response = asgi.request(settings_app, "POST", "/plain", content=b"phase=run",
                            headers=URLENCODED)
    assert response.json() == {"PHASE": "run"}


def test_an_app_without_settings_gets_the_defaults() -> None:
    app = FastAPI()

    @app.post("/limits")
    async def limits(request: Request) -> bool:
        return forms.limits_of(request) == FormLimits()

    assert asgi.request(app, "POST", "/limits").json() is True


def test_uploads_are_closed_after_the_block() -> None:
    app = FastAPI()
    seen: list[UploadFile] = []

    @app.post("/form")
    async def read(request: Request) -> int:
        async with forms.form_fields(request, LIMITS) as fields:
            seen.extend(v for _, v in fields if isinstance(v, UploadFile))
        return len(seen)

    response = asgi.request(app, "POST", "/form", headers=MULTIPART,
                            content=multipart(part("f", b"data", filename="f.txt")))
    assert response.json() == 1
    assert seen[0].file.closed
