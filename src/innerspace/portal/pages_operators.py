"""The operators' page, `/portal/operators`: the queue (queued jobs in order, running jobs
per owner), the containers the engine holds for this service, the engine's health, the
state of each harvested registry, the app catalogue's, and two buttons - read the app
repository again, harvest now - that go through the same trigger check as POST
/apps/refresh and /registry/harvest (web/triggers.py: administrators only once any
authentication is configured, and the same rate limit, one bucket per kind for both).

Who may see it: the service's administrators (auth.admin_groups), or anyone on a service
with no authentication at all (as the triggers allow); a 403 page for everyone else. Every
read is bounded (LIMIT, GROUP BY on indexed columns) so the page stays fast however many jobs
there are.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from innerspace.auth import Caller
from innerspace.db.tables import jobs
from innerspace.engines.base import Engine, Found
from innerspace.errors import Forbidden, Unavailable
from innerspace.portal import csrf
from innerspace.portal.identity import Actor, Viewer
from innerspace.portal.templating import render
from innerspace.portal.views import JobLine
from innerspace.uws.phases import Phase
from innerspace.uws.store import JobStore
from innerspace.web import forms
from innerspace.web.triggers import may_trigger, take_turn

log = logging.getLogger("innerspace.portal")

router = APIRouter()

QUEUE_SHOWN = 50  # queued jobs listed (the total is said)
CONTAINERS_SHOWN = 100
ENGINE_TIMEOUT = 5.0  # seconds the engine may take to answer the page
CATALOGUE_KIND = "app catalogue refresh"  # the kinds of apps/routes.py and registry/routes.py
HARVEST_KIND = "registry harvest"
LAST_HARVEST = "portal_last_harvest"  # app.state: the outcome of the last harvest asked here


def require_operator(request: Request, caller: Caller) -> None:
    """403 unless `caller` may operate this service (the rule of the triggers)."""
    try:
        may_trigger(request.app.state.settings, caller, "the operators' page")
    except Forbidden:
        raise Forbidden("the operators page is for the administrators of this service only") \
            from None


@dataclass(frozen=True)
class Queue:
    queued: list[JobLine]
    queued_total: int
    running: list[tuple[str, int]]  # owner (or "anonymous"), jobs executing
    totals: dict[str, int]


def queue_state(store: JobStore) -> Queue:
    """The queue in order (first QUEUE_SHOWN), running jobs per owner, jobs per phase."""
    queued = (select(jobs.c.id, jobs.c.app, jobs.c.app_version, jobs.c.phase, jobs.c.run_id,
                     jobs.c.creation_time)
              .where(jobs.c.phase == str(Phase.QUEUED)).order_by(jobs.c.seq)
              .limit(QUEUE_SHOWN))
    running = (select(jobs.c.owner, func.count()).where(jobs.c.phase == str(Phase.EXECUTING))
               .group_by(jobs.c.owner).order_by(func.count().desc()).limit(100))
    with store.engine.connect() as conn:
        lines = [JobLine(r[0], r[1], r[2], Phase(r[3]), r[4], r[5])
                 for r in conn.execute(queued).all()]
        per_owner = [(owner or "anonymous", int(n)) for owner, n in conn.execute(running)]
    totals = store.phase_totals()
    return Queue(lines, totals.get(str(Phase.QUEUED), 0), per_owner, totals)


async def engine_state(engine: Engine, service_id: str) -> tuple[str | None, list[Found]]:
    """Why the engine cannot be used (None: it can), and this service's containers on it."""
    try:
        problem = await asyncio.wait_for(engine.check(), ENGINE_TIMEOUT)
        found = [] if problem else await asyncio.wait_for(engine.find_jobs(service_id),
                                                          ENGINE_TIMEOUT)
    except TimeoutError:
        return f"the engine did not answer within {ENGINE_TIMEOUT:g} s", []
    except Exception as exc:  # the page shows any failure of the engine, never a 500
        log.warning("the engine's state could not be read: %s", exc)
        return f"{type(exc).__name__}: {exc}", []
    return problem, sorted(found, key=lambda f: (not f.running, f.job_id))


def harvest_state(request: Request) -> list[dict[str, Any]]:
    """Per configured peer: its last harvest, watermark, records indexed, last failure."""
    services = request.app.state.services
    settings = request.app.state.settings
    index = getattr(services, "regtap", None)
    last: dict[str, Any] = getattr(request.app.state, LAST_HARVEST, None) or {}
    if index is None:
        return []
    counts = index.writer.origins()
    peers = []
    for endpoint in settings.harvest:
        state = index.writer.harvest_state(endpoint) or {}
        outcome = last.get(endpoint, {})
        peers.append({"endpoint": endpoint, "harvested": state.get("harvested"),
                      "watermark": state.get("watermark"), "records": counts.get(endpoint, 0),
                      "failed": outcome.get("failed"), "outcome": outcome})
    return peers


@router.get("/portal/operators", include_in_schema=False)
async def operators_page(request: Request, caller: Viewer, done: str = "") -> Response:
    require_operator(request, caller)
    services = request.app.state.services
    settings = request.app.state.settings
    queue = await asyncio.to_thread(queue_state, services.store)
    problem, containers = await engine_state(services.engine, settings.service_id)
    try:
        catalogue_status = await asyncio.to_thread(services.catalogue.status)
        app_count: int | None = len(await asyncio.to_thread(services.catalogue.apps))
    except Exception as exc:  # an unreadable catalogue is what the page must show
        catalogue_status, app_count = {"problem": str(exc)}, None
    peers = await asyncio.to_thread(harvest_state, request)
    index = getattr(services, "regtap", None)
    return render(request, "operators.html", {
        "queue": queue, "engine_name": settings.engine, "engine_problem": problem,
        "containers": containers[:CONTAINERS_SHOWN], "containers_total": len(containers),
        "catalogue_status": catalogue_status, "app_count": app_count, "peers": peers,
        "indexed": index.count() if index is not None else None,
        "can_harvest": getattr(services, "registry_sync", None) is not None,
        "done": done,
    }, caller=caller)


Fields = Annotated[list[forms.Field], Depends(csrf.checked_form)]


@router.post("/portal/operators/refresh-catalogue", include_in_schema=False)
async def refresh_catalogue(request: Request, caller: Actor, _: Fields) -> Response:
    take_turn(request, caller, CATALOGUE_KIND)
    await asyncio.to_thread(request.app.state.services.catalogue.refresh)
    return RedirectResponse("/portal/operators?done=catalogue", status_code=303)


@router.post("/portal/operators/harvest", include_in_schema=False)
async def harvest_now(request: Request, caller: Actor, _: Fields) -> Response:
    take_turn(request, caller, HARVEST_KIND)
    sync = getattr(request.app.state.services, "registry_sync", None)
    if sync is None:
        raise Unavailable("this service keeps no registry to harvest into")
    outcome = await sync.call(sync.harvest)
    setattr(request.app.state, LAST_HARVEST, outcome)
    return RedirectResponse("/portal/operators?done=harvest", status_code=303)
