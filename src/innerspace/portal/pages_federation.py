"""The federation in the portal: `/portal/federation` lists the data centres the registry
knows (their innerspace execution services, and the inner APIs and data collections their
inner-space records declare), and `?app=name` (its parameter values as further query
parameters) asks the federation planner where the app can run: every candidate's quote, the
reason each one is left out, and a way to run it at the best one (this data centre: the
app's form; another: the app's page in its portal).

The planner is client/federation.py's, with its registry queries answered by this service's
own RegTAP index (regtap_reads.py, the confined path of /registry/tap/sync) rather than over
HTTP to itself. Its quotes are PENDING jobs at each candidate, made as the visitor (their
access token) and deleted as soon as the plan is read: a plan only looks.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from innerspace.client.federation import Federation, Plan
from innerspace.errors import BadRequest, InnerspaceError
from innerspace.portal import session
from innerspace.portal.identity import Viewer
from innerspace.portal.regtap_reads import index_of, rows
from innerspace.portal.templating import render
from innerspace.registry.regtap.index import RegTAPIndex
from innerspace.vocabulary import kind_of_standard

router = APIRouter()

APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}(:[A-Za-z0-9._+-]{1,64})?\Z")
MAX_ROWS = 5000  # rows of one planner query (a federation of hundreds of data centres)
MAX_VALUES = 50
PLAN_TIMEOUT = 60.0  # seconds a plan may take in all (quotes from every candidate)


class IndexFederation(Federation):
    """The planner, its RegTAP queries run by this service's index on the server's event
    loop (the index's gate lets only so many run at once); called from a worker thread."""

    def __init__(self, index: RegTAPIndex, loop: asyncio.AbstractEventLoop,
                 token: str | None) -> None:
        super().__init__("http://localhost/registry/tap", token=token)
        self.index = index
        self.loop = loop

    def _query(self, adql: str) -> list[dict[str, Any]]:
        future = asyncio.run_coroutine_threadsafe(rows(self.index, adql, MAX_ROWS), self.loop)
        found, _ = future.result(timeout=PLAN_TIMEOUT)
        return found


@dataclass(frozen=True)
class DataCentre:
    """A data centre as the registry describes it."""

    authority: str
    jobs_url: str | None
    inner_apis: tuple[tuple[str, tuple[str, ...]], ...]  # (kind's title, collections)

    @property
    def portal_url(self) -> str | None:
        """Its portal (where its execution service answers)."""
        return self.jobs_url.removesuffix("/jobs") + "/portal" if self.jobs_url else None


def kind_title(standard_id: str) -> str:
    kind = kind_of_standard(standard_id)
    return kind.title if kind is not None else standard_id or "unknown"


def data_centres(federation: Federation) -> list[DataCentre]:
    services = federation.execution_services()
    spaces = federation.inner_spaces()
    return [DataCentre(authority, services.get(authority),
                       tuple(sorted((kind_title(kind), tuple(sorted(collections)))
                                    for kind, collections in spaces.get(authority, {}).items())))
            for authority in sorted(set(services) | set(spaces))]


def visitor_token(request: Request) -> str | None:
    """The token the visitor's quotes are asked for with: their bearer token, else their
    session's access token (None: anonymous)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    found = session.current(request)
    return found.token if found is not None else None


def plan_app(federation: Federation, app: str,
             values: dict[str, Any]) -> tuple[list[DataCentre], Plan]:
    """The data centres and the plan for `app` with these parameter values, its quote jobs
    deleted (in a worker thread: the planner waits on HTTP)."""
    centres = data_centres(federation)
    plan = federation.plan(app, values)
    plan.discard()
    return centres, plan


def next_step(request: Request, app: str, authority: str, jobs_url: str | None) -> str:
    """Where "run at the best" goes: this data centre's form, or the app's page at the
    other data centre's portal (or its UWS job list when it has none)."""
    own = request.app.state.settings.datacentre.authority.lower()
    name = app.split(":")[0]
    if authority == own:
        return f"/portal/apps/{name}"
    base = (jobs_url or "").removesuffix("/jobs")
    return f"{base}/portal/apps/{name}" if base else ""


@router.get("/portal/federation", include_in_schema=False)
async def federation_page(request: Request, caller: Viewer, app: str = "") -> Response:
    index = index_of(request)
    app = app.strip()
    if app and not APP_NAME.match(app):
        raise BadRequest("app: the name of an app (letters, digits, '.', '_', '-'), "
                         "optionally :version")
    # Any other query parameter is a value of the app's (a quote is for a job with values).
    values = {name: value for name, value in request.query_params.items() if name != "app"}
    if len(values) > MAX_VALUES:
        raise BadRequest(f"give at most {MAX_VALUES} parameter values")
    context: dict[str, Any] = {"app": app, "values": values, "centres": [], "plan": None,
                               "best": None, "best_url": None, "problem": None}
    if index is None:
        context["problem"] = "the registry is not available on this service"
        return render(request, "federation.html", context, caller=caller)
    federation = IndexFederation(index, asyncio.get_running_loop(), visitor_token(request))
    try:
        if app:
            centres, plan = await asyncio.wait_for(
                asyncio.to_thread(plan_app, federation, app, values), PLAN_TIMEOUT)
            context.update(plan=plan, best=plan.best)
            if plan.best is not None:
                context["best_url"] = next_step(request, app, plan.best.authority,
                                                plan.best.jobs_url)
        else:
            centres = await asyncio.to_thread(data_centres, federation)
    except (InnerspaceError, TimeoutError) as exc:
        context["problem"] = (exc.describe() if isinstance(exc, InnerspaceError) else
                              f"the plan took longer than {PLAN_TIMEOUT:g} s")
        centres = []
    context["centres"] = centres
    return render(request, "federation.html", context, caller=caller)
