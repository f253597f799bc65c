"""Reading request bodies: urlencoded or multipart form fields plus the query string, with
uploads spooled to temporary files, text checked to be UTF-8 that XML can carry, and
multipart limits on parts, fields and sizes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from innerspace.errors import BadRequest, TooLarge
from innerspace.xmltext import xml_safe

MAX_FILES = 64
MAX_FIELDS = 1000
MAX_PART_SIZE = 1024 * 1024  # bytes of one non-file multipart field


# A form field: its name, and its text or its upload (spooled to a temporary file).
Field = tuple[str, str | UploadFile]


class StrictMultiPartParser(MultiPartParser):
    """Starlette's multipart parser, but text that is not valid UTF-8 is refused instead of
    being read as Latin-1 (which would store mojibake as a parameter value)."""

    def on_part_end(self) -> None:
        part = self._current_part
        if not part.field_name.isascii():
            raise MultiPartException(
                f"field name {part.field_name!r} is not ASCII (parameter names are identifiers)")
        if part.file is None:
            try:
                part.data.decode(self._charset or "utf-8")
            except (UnicodeDecodeError, LookupError):
                raise MultiPartException(
                    f"the value of {part.field_name!r} is not valid "
                    f"{self._charset or 'UTF-8'} text") from None
        super().on_part_end()


def check_utf8_pairs(body: bytes) -> None:
    """Refuse an urlencoded body with raw bytes that are not UTF-8, naming the field."""
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"a parameter name ({name.decode('utf-8', 'replace')!r}) is not "
                             "valid UTF-8 text") from None
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"parameter {name.decode()!r} holds bytes that are not valid "
                             "UTF-8 text") from None


@asynccontextmanager
async def form_fields(request: Request, upload_limit: int) -> AsyncIterator[list[Field]]:
    """The request's form fields (urlencoded or multipart) plus any query parameters, in
    order; uploads are spooled to temporary files that are closed when the block ends."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > upload_limit + 65536:
        raise TooLarge(f"the request body ({length} bytes) is larger than the upload limit "
                       f"of {upload_limit} bytes")
    fields: list[Field] = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    form: FormData | None = None
    try:
        if media_type == "multipart/form-data":
            async with aclosing(request.stream()) as stream:
                form = await StrictMultiPartParser(
                    request.headers, stream, max_files=MAX_FILES, max_fields=MAX_FIELDS,
                    max_part_size=MAX_PART_SIZE).parse()
        elif media_type in ("application/x-www-form-urlencoded", ""):
            check_utf8_pairs(await request.body())
            form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        else:
            raise BadRequest(f"unsupported content type {content_type!r}: send "
                             "application/x-www-form-urlencoded or multipart/form-data")
    except MultiPartException as exc:
        raise BadRequest(f"malformed multipart body: {exc.message}") from None
    try:
        fields.extend(form.multi_items())
        for name, value in fields:
            for item in (name, value if isinstance(value, str) else ""):
                if "\ufffd" in item:
                    raise BadRequest(f"parameter {name!r} holds bytes that are not valid "
                                     "UTF-8 text")
                if not xml_safe(item):
                    raise BadRequest(f"parameter {name!r} holds control characters that "
                                     "cannot be stored")
        yield fields
    finally:
        await form.close()


async def plain_fields(request: Request, upload_limit: int) -> dict[str, str]:
    """The request's plain (non-file) fields by upper-cased name (UWS's own parameters)."""
    async with form_fields(request, upload_limit) as fields:
        return {name.upper(): value for name, value in fields if isinstance(value, str)}
