"""The HTTP side of the RegTAP service, mounted at /registry/tap: TAP 1.1 synchronous
queries at /sync (GET and POST), and VOSI /capabilities, /availability and /tables.

Handlers only read the request and write the answer. Whatever goes wrong is raised (a
`RegTAPError` for the request or its query, `SearchUnavailable` without an index,
`SearchBusy` when too many queries run: 503 with Retry-After) and
answered by `error_renderer`, which the app factory registers for /registry/tap: an error
VOTable with QUERY_STATUS=ERROR, as TAP clients expect.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from innerspace.errors import InnerspaceError
from innerspace.registry.errors import RegTAPError, SearchUnavailable
from innerspace.registry.regtap.index import RegTAPIndex
from innerspace.registry.regtap.request import SyncQuery
from innerspace.registry.regtap.results import error_document, result_document
from innerspace.registry.regtap.vosi import (
    availability_document,
    capabilities_document,
    tables_document,
)
from innerspace.web import forms, media
from innerspace.web.urls import url_for

PATH = "/registry/tap"  # where the app factory mounts this router

router = APIRouter()


def find_index(request: Request) -> RegTAPIndex | None:
    """The service's RegTAP index; None when it has none."""
    index = getattr(getattr(request.app.state, "services", None), "regtap", None)
    return index if isinstance(index, RegTAPIndex) else None


# A coroutine, so that FastAPI does not hand it to a worker thread.
async def get_index(request: Request) -> RegTAPIndex:
    index = find_index(request)
    if index is None:
        raise SearchUnavailable("the registry search is not available on this service")
    return index


Index = Annotated[RegTAPIndex, Depends(get_index)]


def tap_url(request: Request) -> str:
    """The public base URL of this TAP service."""
    return url_for(request, PATH)


async def tap_parameters(request: Request) -> dict[str, list[str]]:
    """Query and form parameters, names lower-cased (TAP names are case-insensitive); the
    body read under the service's form limits, without uploads (TAP_UPLOAD is not
    supported)."""
    parameters: dict[str, list[str]] = {}
    if request.method != "POST":
        for name, value in request.query_params.multi_items():
            parameters.setdefault(name.lower(), []).append(value)
        return parameters
    async with forms.form_fields(request, replace(forms.limits_of(request), max_files=0)
                                 ) as fields:
        for name, item in fields:
            if not isinstance(item, str):  # never: uploads are refused while reading
                raise RegTAPError(f"{name}: uploads are not supported by this service")
            parameters.setdefault(name.lower(), []).append(item)
    return parameters


def error_renderer(_: Request, error: InnerspaceError) -> Response:
    """TAP: an error VOTable (QUERY_STATUS=ERROR) with the error's status."""
    return Response(error_document(error.describe()), status_code=error.status,
                    media_type=media.VOTABLE)


@router.get("/sync", summary="TAP synchronous ADQL query")
@router.post("/sync", summary="TAP synchronous ADQL query, parameters form-encoded")
async def sync(request: Request, index: Index) -> Response:
    query = SyncQuery.from_parameters(await tap_parameters(request))
    # The answer is written within the turn too: it is the other half of the memory.
    async with index.gate.turn():
        result = await run_in_threadpool(index.query, query.adql, query.maxrec)
        body, media_type = await run_in_threadpool(result_document, result, query.adql,
                                                   query.serialization)
    return Response(body, media_type=media_type)


@router.get("/capabilities", summary="VOSI capabilities of the RegTAP service")
async def capabilities(request: Request, index: Index) -> Response:
    security = request.app.state.settings.auth.public_interface_security
    return Response(capabilities_document(tap_url(request), index, security),
                    media_type=media.XML)


@router.get("/availability", summary="VOSI availability of the RegTAP service")
async def availability(request: Request) -> Response:
    body = await run_in_threadpool(availability_document, find_index(request))
    return Response(body, media_type=media.XML)


@router.get("/tables", summary="VOSI tables of the RegTAP service")
async def tables() -> Response:
    return Response(tables_document(), media_type=media.XML)
