"""HTTP routes of the execution service's VOSI resources (/capabilities, /availability) and
of the root page that points a visitor at them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

import innerspace
from innerspace.engines.base import Engine
from innerspace.uws.vosi import availability_document, capabilities_document
from innerspace.web import media
from innerspace.web.urls import base_url

router = APIRouter()


@router.get("/", include_in_schema=False)
async def root(request: Request) -> Response:
    url = base_url(request)
    return PlainTextResponse(
        f"innerspace {innerspace.__version__}: UWS 1.1 job list at {url}/jobs, "
        f"VOSI at {url}/capabilities and {url}/availability, apps at {url}/apps\n")


@router.get("/capabilities", summary="VOSI capabilities")
async def capabilities(request: Request) -> Response:
    return Response(capabilities_document(base_url(request),
                                          request.app.state.settings.auth.interface_security),
                    media_type=media.XML)


@router.get("/availability", summary="VOSI availability")
async def availability(request: Request) -> Response:
    engine: Engine = request.app.state.services.engine
    started: datetime = request.app.state.services.started
    problem = await engine.check()
    return Response(availability_document(problem, started), media_type=media.XML)
