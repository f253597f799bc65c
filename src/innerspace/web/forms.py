"""Reading request bodies: urlencoded or multipart form fields plus the query string, with
uploads spooled to temporary files and text checked to be UTF-8 that XML can carry.

Bodies are read as streams under the limits of `formparsers.FormLimits` (the settings'
`limits.max_form_size`, `max_form_fields` and `max_upload_size`): a Content-Length past them
is refused before a byte is read, and a body sent without one is refused as soon as it
passes them, so that no request makes the service hold more than about the limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from innerspace.config import Limits
from innerspace.errors import BadRequest, TooLarge
from innerspace.web.formparsers import CappedMultiPartParser, FormLimits, UrlencodedParser
from innerspace.xmltext import xml_safe

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

# A form field: its name, and its text or its upload (spooled to a temporary file).
Field = tuple[str, str | UploadFile]


def limits_of(request: Request) -> FormLimits:
    """The form limits of the service's settings (the defaults for an app without them)."""
    limits = getattr(getattr(request.app.state, "settings", None), "limits", None)
    return FormLimits.of(limits) if isinstance(limits, Limits) else FormLimits()


def media_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def refuse_long_body(request: Request, limit: int, what: str) -> None:
    """A Content-Length past `limit` is refused before the body is read."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge(f"the request body ({length} bytes) is larger than the limit of "
                       f"{limit} bytes for {what}")


async def urlencoded_fields(request: Request, limits: FormLimits) -> list[tuple[str, str]]:
    """The fields of an urlencoded body, in order, each decoded as UTF-8."""
    refuse_long_body(request, limits.max_size, "form fields")
    async with aclosing(request.stream()) as stream:
        return await UrlencodedParser(limits).parse(stream)


async def body_form(request: Request, limits: FormLimits) -> FormData:
    """The form of the request's body (empty without one): urlencoded or multipart."""
    media_type = media_type_of(request)
    if media_type in (URLENCODED, ""):
        fields: list[Field] = [*await urlencoded_fields(request, limits)]
        return FormData(fields)
    if media_type != MULTIPART:
        raise BadRequest(f"unsupported content type {request.headers['content-type']!r}: "
                         f"send {URLENCODED} or {MULTIPART}")
    refuse_long_body(request, limits.max_body, "a form with its uploads")
    try:
        async with aclosing(request.stream()) as stream:
            return await CappedMultiPartParser(request.headers, stream, limits).parse()
    except MultiPartException as exc:
        raise BadRequest(f"malformed multipart body: {exc.message}") from None


def check_text(fields: list[Field]) -> None:
    """Refuse names and values that are not text XML can carry (the query string is decoded
    with replacement characters: they betray bytes that were not UTF-8)."""
    for name, value in fields:
        for item in (name, value if isinstance(value, str) else ""):
            if "\ufffd" in item:
                raise BadRequest(f"parameter {name!r} holds bytes that are not valid UTF-8 text")
            if not xml_safe(item):
                raise BadRequest(f"parameter {name!r} holds control characters that cannot "
                                 "be stored")


@asynccontextmanager
async def form_fields(request: Request, limits: FormLimits | None = None
                      ) -> AsyncIterator[list[Field]]:
    """The request's query parameters then its form fields (urlencoded or multipart), in
    order; uploads are spooled to temporary files that are closed when the block ends."""
    form = await body_form(request, limits or limits_of(request))
    try:
        fields: list[Field] = [*request.query_params.multi_items(), *form.multi_items()]
        check_text(fields)
        yield fields
    finally:
        await form.close()


async def plain_fields(request: Request) -> dict[str, str]:
    """The request's plain (non-file) fields by upper-cased name (UWS's own parameters)."""
    async with form_fields(request) as fields:
        return {name.upper(): value for name, value in fields if isinstance(value, str)}
