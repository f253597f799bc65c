"""The service's root URL, negotiated: a browser (its Accept names text/html before, or
above, any XML or JSON type) gets the portal's home page; every other client gets exactly
what `/` gave before the portal (uws/vosi_routes.py's text, from the same function).
Both answers say `Vary: Accept`, so that no cache hands one to the other."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from innerspace.auth import Caller
from innerspace.portal.identity import viewer
from innerspace.portal.pages_home import home_page
from innerspace.uws.vosi_routes import root as service_root

router = APIRouter()

HTML = ("text/html", "application/xhtml+xml")


def _is_data(media_type: str) -> bool:
    return (media_type.endswith(("/xml", "+xml", "/json", "+json"))
            and media_type != "application/xhtml+xml")


def prefers_html(accept: str) -> bool:
    """Whether an Accept header asks for a page: text/html (or XHTML) with a quality above
    every XML/JSON type's, or equal to it and named first. `*/*` alone is not a browser."""
    best_html: tuple[float, int] | None = None
    best_data: tuple[float, int] | None = None
    for position, item in enumerate(accept.split(",")):
        media_type, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media_type = media_type.lower()
        key = (quality, -position)
        if media_type in HTML and (best_html is None or key > best_html):
            best_html = key
        elif _is_data(media_type) and (best_data is None or key > best_data):
            best_data = key
    if best_html is None or best_html[0] <= 0:
        return False
    return best_data is None or best_html > best_data


@router.get("/", include_in_schema=False)
async def root(request: Request) -> Response:
    if prefers_html(request.headers.get("accept", "")):
        caller: Caller = await viewer(request)
        response = await home_page(request, caller)
    else:
        response = await service_root(request)
    response.headers["Vary"] = "Accept"
    return response
