"""HTTP routes of the app catalogue: /apps (JSON, or HTML for a browser), /apps/{name},
POST /apps/refresh, and the manifest JSON Schema at /schemas/app-manifest.json. An app
limited to groups is listed only to their members and administrators (apps/access.py): to
anyone else /apps/{name} answers 404, as for an app that does not exist. The catalogue is
readable without credentials (as before identity came), showing such callers the open apps
only."""

from __future__ import annotations

import asyncio
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from innerspace.apps.access import visible_apps
from innerspace.apps.catalogue import AppCatalogue, AppImage
from innerspace.apps.manifest import manifest_json_schema
from innerspace.apps.summary import app_summary
from innerspace.auth import ANONYMOUS, Caller
from innerspace.errors import NotAuthenticated, NotFound
from innerspace.web.caller import get_caller
from innerspace.web.triggers import trigger

router = APIRouter()


# A coroutine, so that FastAPI does not hand it to a worker thread.
async def get_viewer(request: Request) -> Caller:
    """The caller; anonymous, rather than refused, when no credentials came at all
    (credentials that do come must be good)."""
    try:
        return await get_caller(request)
    except NotAuthenticated:
        if "authorization" in request.headers:
            raise
        return ANONYMOUS


Viewer = Annotated[Caller, Depends(get_viewer)]


def catalogue_of(request: Request) -> AppCatalogue:
    catalogue: AppCatalogue = request.app.state.services.catalogue
    return catalogue


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def html_page(title: str, apps: list[AppImage], status: dict[str, Any]) -> HTMLResponse:
    rows = "".join(
        f"<tr><td><a href='/apps/{escape(a.name)}'>{escape(a.name)}</a></td>"
        f"<td>{escape(a.version)}</td><td>{escape(a.manifest.title)}</td>"
        f"<td>{escape(', '.join(a.manifest.parameters))}</td>"
        f"<td><code>{escape(a.digest[:19])}</code></td></tr>" for a in apps)
    stale = ("<p><strong>The catalogue is stale:</strong> "
             f"{escape(str(status.get('problem')))}</p>" if status.get("stale") else "")
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            "</head><body>"
            f"<h1>{escape(title)}</h1>{stale}<table border='1' cellpadding='4'>"
            "<tr><th>name</th><th>version</th><th>title</th><th>parameters</th>"
            f"<th>digest</th></tr>{rows}</table></body></html>")
    return HTMLResponse(body)


@router.get("/apps", summary="The applications this service runs")
async def list_apps(request: Request, caller: Viewer) -> Response:
    catalogue = catalogue_of(request)
    apps = visible_apps(request.app.state.settings, await asyncio.to_thread(catalogue.apps),
                        caller)
    status = catalogue.status()
    if wants_html(request):
        return html_page("innerspace applications", apps, status)
    headers = {"Warning": '110 innerspace "catalogue is stale"'} if status.get("stale") else None
    return JSONResponse({"catalogue": status, "apps": [app_summary(a) for a in apps]},
                        headers=headers)


@router.post("/apps/refresh", summary="Read the app repository again now",
             dependencies=[Depends(trigger("app catalogue refresh"))])
async def refresh_apps(request: Request) -> Response:
    catalogue = catalogue_of(request)
    await asyncio.to_thread(catalogue.refresh)
    return JSONResponse({"catalogue": catalogue.status(),
                         "apps": len(await asyncio.to_thread(catalogue.apps))})


@router.get("/apps/{name}", summary="Every version of one application")
async def show_app(request: Request, name: str, caller: Viewer) -> Response:
    catalogue = catalogue_of(request)
    versions = visible_apps(request.app.state.settings,
                            [a for a in await asyncio.to_thread(catalogue.apps)
                             if a.name == name], caller)
    if not versions:
        raise NotFound(f"no app {name!r} in the catalogue")
    if wants_html(request):
        return html_page(f"innerspace application {name}", versions, catalogue.status())
    return JSONResponse({"name": name, "catalogue": catalogue.status(),
                         "versions": [app_summary(a) for a in versions]})


@router.get("/schemas/app-manifest.json", summary="JSON Schema of app manifests")
async def manifest_schema() -> Response:
    return JSONResponse(manifest_json_schema())
