"""Form bodies parsed as streams, with caps that apply before anything is buffered.

An urlencoded body is all form fields, so its bytes are counted as they arrive and the body
is refused (413) past `FormLimits.max_size`; python-multipart's streaming parser splits it,
and each field is decoded as UTF-8 strictly when it ends. A multipart body may carry files
(spooled to temporary files, bounded by `max_upload_size`); everything else a part makes the
service hold - its headers, the value of a plain field, the boundary that opens it - counts
against the same `max_size`, which Starlette's own parser (a cap per part only) lacks.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import QuerystringParser, parse_options_header
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser

from innerspace.config import Limits
from innerspace.errors import BadRequest, InnerspaceError, TooLarge

MAX_FILES = 64
# Bytes of one upload kept in memory before its temporary file goes to disk: small, since
# a request may carry MAX_FILES of them at once.
SPOOL_SIZE = 64 * 1024


@dataclass(frozen=True)
class FormLimits:
    """What one form body may make the service hold."""

    max_size: int = 1024 * 1024  # bytes of everything but uploaded files
    max_fields: int = 1000
    max_files: int = MAX_FILES  # 0: uploads are refused
    max_upload_size: int = 1024 * 1024 * 1024  # bytes of uploaded files

    @classmethod
    def of(cls, limits: Limits) -> FormLimits:
        """The limits the settings give."""
        return cls(max_size=limits.max_form_size, max_fields=limits.max_form_fields,
                   max_upload_size=limits.max_upload_size)

    @property
    def max_body(self) -> int:
        """The most bytes a multipart body may carry in all."""
        return self.max_size + (self.max_upload_size if self.max_files else 0)

    def too_large(self) -> TooLarge:
        return TooLarge(f"the form fields are larger than the limit of {self.max_size} bytes"
                        + (" (uploaded files aside)" if self.max_files else ""))

    def body_too_large(self) -> TooLarge:
        return TooLarge(f"the request body is larger than the limit of {self.max_body} bytes "
                        "(form fields and uploaded files together)")

    def too_many_fields(self) -> TooLarge:
        return TooLarge(f"the form has more than {self.max_fields} fields")

    def too_many_files(self) -> InnerspaceError:
        if not self.max_files:
            return BadRequest("file uploads are not accepted here")
        return TooLarge(f"the form has more than {self.max_files} files")


async def capped(stream: AsyncIterator[bytes], limit: int,
                 refusal: TooLarge) -> AsyncGenerator[bytes, None]:
    """The chunks of `stream`; `refusal` is raised as soon as they pass `limit` bytes."""
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise refusal
        yield chunk


def _text(raw: bytearray) -> str | None:
    """An urlencoded name or value as text; None when its bytes are not UTF-8."""
    try:
        return unquote_to_bytes(bytes(raw).replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


class UrlencodedParser:
    """Fields of an application/x-www-form-urlencoded body, fed chunk by chunk."""

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.fields: list[tuple[str, str]] = []
        self._name = bytearray()
        self._value = bytearray()
        self._parser = QuerystringParser({
            "on_field_start": self._start, "on_field_name": self._on_name,
            "on_field_data": self._on_value, "on_field_end": self._end})

    async def parse(self, stream: AsyncIterator[bytes]) -> list[tuple[str, str]]:
        async for chunk in capped(stream, self.limits.max_size, self.limits.too_large()):
            self._parser.write(chunk)
        self._parser.finalize()
        return self.fields

    def _start(self) -> None:
        self._name.clear()
        self._value.clear()

    def _on_name(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _end(self) -> None:
        if len(self.fields) >= self.limits.max_fields:
            raise self.limits.too_many_fields()
        name = _text(self._name)
        if name is None:
            shown = unquote_to_bytes(bytes(self._name)).decode("utf-8", "replace")
            raise BadRequest(f"a parameter name ({shown!r}) is not valid UTF-8 text")
        value = _text(self._value)
        if value is None:
            raise BadRequest(f"parameter {name!r} holds bytes that are not valid UTF-8 text")
        self.fields.append((name, value))


class CappedMultiPartParser(MultiPartParser):
    """Starlette's multipart parser with one cap on all that is not an uploaded file (part
    headers, plain values, boundaries), caps on fields and files, small spools, and text that
    must be what its charset says (Starlette would read it as Latin-1: mojibake)."""

    spool_max_size = SPOOL_SIZE

    def __init__(self, headers: Headers, stream: AsyncIterator[bytes],
                 limits: FormLimits) -> None:
        # The base class's own caps stay out of the way: these are checked here, with
        # messages that name them.
        super().__init__(headers, capped(stream, limits.max_body, limits.body_too_large()),
                         max_files=float("inf"), max_fields=float("inf"),
                         max_part_size=limits.max_size + 1)
        self.limits = limits
        self._held = 0  # bytes of non-file data so far
        _, options = parse_options_header(headers.get("content-type", ""))
        # What opens a part: CRLF, "--", the boundary, CRLF.
        self._opening = len(options.get(b"boundary", b"")) + 6

    def _hold(self, size: int) -> None:
        self._held += size
        if self._held > self.limits.max_size:
            raise self.limits.too_large()

    def on_part_begin(self) -> None:
        self._hold(self._opening)
        super().on_part_begin()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._hold(end - start)
        super().on_header_field(data, start, end)

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._hold(end - start)
        super().on_header_value(data, start, end)

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        if self._current_part.file is not None:
            if self._current_files > self.limits.max_files:
                raise self.limits.too_many_files()
        elif self._current_fields > self.limits.max_fields:
            raise self.limits.too_many_fields()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is None:
            self._hold(end - start)
        super().on_part_data(data, start, end)

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
