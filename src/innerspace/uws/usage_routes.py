"""GET /usage: what the caller's jobs use of the service and the limits that apply to them,
as JSON (uws/usage.py); an administrator may add `?owner=NAME` for another owner's."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from innerspace.uws.routes import Service
from innerspace.web.caller import CallerDep

router = APIRouter()


@router.get("/usage", summary="Your jobs' usage of this service, and your limits",
            description="JSON: owner, running and queued jobs, jobs by phase, the bytes "
                        "their files take (storage_bytes), and each limit (null: none). "
                        "Administrators may ask for another owner with ?owner=NAME.")
async def get_usage(service: Service, caller: CallerDep, owner: str | None = None) -> Response:
    return JSONResponse(service.usage(caller, owner).to_json())
