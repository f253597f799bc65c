"""The portal's static files (portal/static/: styles, scripts, the UWS stylesheet), served
from the installed package. The portal's URLs carry their content's hash in `v`
(templating.static_url), so those are cached for a year and never go stale; a URL without it
(the UWS stylesheet names portal.css plainly) is revalidated each time."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from innerspace.errors import NotFound
from innerspace.portal.templating import STATIC

router = APIRouter()

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,80}$")
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".xsl": "text/xsl; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
         ".ico": "image/x-icon", ".json": "application/json"}
CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"


@router.get("/portal/static/{name}", include_in_schema=False)
async def static_file(name: str, request: Request) -> Response:
    """One file of portal/static/ (names only: no directories, no dot files)."""
    path = STATIC / name
    kind = TYPES.get(path.suffix)
    if not _NAME.match(name) or kind is None or not path.is_file():
        raise NotFound(f"no static file {name!r}")
    cache = CACHE if "v" in request.query_params else REVALIDATE
    return Response(path.read_bytes(), media_type=kind, headers={"Cache-Control": cache})
