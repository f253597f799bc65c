"""HTTP routes that act on the publishing registry: rebuild its records and index now
(/registry/refresh), harvest the configured peers now (/registry/harvest). Both are operator
triggers (web/triggers.py): for administrators (auth.admin_groups) once any authentication is
configured (403 for anyone else), run a few times in a row and then once per interval (429
beyond), and answer JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from innerspace.registry.publishing import RegistrySync
from innerspace.web.triggers import trigger

router = APIRouter()


# A coroutine, so that FastAPI does not hand it to a worker thread.
async def get_sync(request: Request) -> RegistrySync:
    sync: RegistrySync = request.app.state.services.registry_sync
    return sync


Sync = Annotated[RegistrySync, Depends(get_sync)]


@router.post("/registry/refresh", summary="Rebuild the registry records and index now",
             dependencies=[Depends(trigger("registry refresh"))])
async def refresh_registry(sync: Sync) -> Response:
    await sync.call(sync.sync)
    return JSONResponse({"records": len(sync.registry.records()),
                         "searchable": sync.index.count()})


@router.post("/registry/harvest", summary="Harvest the configured registries now",
             dependencies=[Depends(trigger("registry harvest"))])
async def harvest_registries(sync: Sync) -> Response:
    # Harvests run one at a time: a request during one waits for it, then harvests anew.
    return JSONResponse(await sync.call(sync.harvest))
