"""The portal's home page (/portal, and / for a browser): the data centre, its inner APIs
and collections, the apps the caller may use, and the caller's recent jobs."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from innerspace.auth import Caller
from innerspace.portal.identity import Viewer
from innerspace.portal.templating import render
from innerspace.portal.views import app_catalogue, recent_jobs
from innerspace.vocabulary import inner_api_kind

router = APIRouter()

RECENT_JOBS = 5


async def home_page(request: Request, caller: Caller) -> Response:
    settings = request.app.state.settings
    services = request.app.state.services
    catalogue = await app_catalogue(request, caller)
    jobs = await asyncio.to_thread(recent_jobs, services.store, caller.owner, RECENT_JOBS)
    inner = [(api, inner_api_kind(api.kind).title) for api in settings.datacentre.inner_apis]
    return render(request, "home.html", {
        "datacentre": settings.datacentre, "inner_apis": inner,
        "catalogue": catalogue, "jobs": jobs,
    }, caller=caller)


@router.get("/portal", include_in_schema=False)
async def home(request: Request, caller: Viewer) -> Response:
    return await home_page(request, caller)
