"""Serving the files of jobs - what apps write (results) and what users upload (inputs) -
so that none of them can act with the service's origin.

An app is hostile code as far as the service knows: a result `page.html` or `drawing.svg`
served inline would run its script as the service's own page, able to read every job of
whoever opens it. So every job file is served with

- `X-Content-Type-Options: nosniff`: the browser takes the type the service says, never one
  it guesses from the bytes;
- `Content-Security-Policy: sandbox; default-src 'none'`: were it shown anyway, the document
  has a unique opaque origin, no scripts, no plugins, loads nothing;
- `Cross-Origin-Resource-Policy: same-origin`: other sites' pages cannot embed it;
- `Content-Disposition: attachment` unless its type is passive (plain text, CSV, JSON,
  PNG/JPEG/GIF/WebP images, FITS and other data files): HTML, SVG, any XML, JavaScript, PDF
  and anything unknown are downloaded, not shown. The file name is RFC 6266-encoded.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from fastapi.responses import FileResponse
from starlette.types import Receive, Scope, Send

from innerspace.web.head import is_head

# Types a browser shows without running anything; all others are attachments.
INLINE_TYPES = frozenset({
    "text/plain", "text/csv", "text/tab-separated-values", "text/x-ecsv", "application/json",
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
    "application/fits", "image/fits", "application/x-hdf5", "application/vnd.apache.parquet",
})
SANDBOX_POLICY = "sandbox; default-src 'none'"
NOT_TOKEN = re.compile(r"[^A-Za-z0-9!#$&'*+.^_`|~ -]")  # what the plain fallback name drops


def shown_inline(media_type: str) -> bool:
    """Whether a file of `media_type` may be shown by the browser rather than downloaded."""
    return media_type.split(";", 1)[0].strip().lower() in INLINE_TYPES


def content_disposition(media_type: str, filename: str) -> str:
    """inline or attachment, with the file name as RFC 6266 has it: an ASCII fallback, and
    the exact name percent-encoded as UTF-8."""
    kind = "inline" if shown_inline(media_type) else "attachment"
    fallback = NOT_TOKEN.sub("_", filename).strip() or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def job_file_headers(media_type: str, filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(media_type, filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX_POLICY,
        "Cross-Origin-Resource-Policy": "same-origin",
    }


class JobFileResponse(FileResponse):
    """A file, with headers only when the request is a HEAD (see web/head.py)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_head(scope):
            scope = {**scope, "method": "HEAD"}
        await super().__call__(scope, receive, send)


def job_file(path: Path, media_type: str, filename: str) -> FileResponse:
    """The response that serves a job's result or input file."""
    return JobFileResponse(path, media_type=media_type,
                           headers=job_file_headers(media_type, filename))
