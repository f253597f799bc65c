"""The HTTP routes every UWS 1.1 job list shares, written once: the container jobs of /jobs
(uws/routes.py) and the RegTAP service's asynchronous queries (registry/regtap/async_routes.py).

`add_job_routes` adds to a router, below a list's path, a job's own resources that read or
change it the same way in both: the job document (WAIT blocks), the POST and DELETE on the
job, its phase, execution duration, destruction, quote, owner, parameters and results
documents. Each list keeps its own specifics: the list itself, creating a job and changing its
parameters (uploads for /jobs, TAP's parameters for /async), result files and the error
resource (the error summary for /jobs, the DALI error document for /async).

Atomic values are text/plain; documents are UWS XML (rendered by the list's `xml`); every
change answers 303 See Other to the resource to look at next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from innerspace.apps.access import Requester
from innerspace.errors import BadRequest
from innerspace.uws.store import Job
from innerspace.uws.xml import iso, job_document, parameters_document, results_document
from innerspace.web import forms
from innerspace.web.caller import CallerDep


class UWSJobs(Protocol):
    """What the shared routes need of a job list's service (uws/service.py `JobService`,
    uws/inprocess.py `InProcessJobs`)."""

    def get(self, caller: Requester, job_id: str) -> Job: ...

    async def wait(self, caller: Requester, job_id: str, seconds: str,
                   phase: str | None) -> Job: ...

    def quote(self, job: Job) -> float | None: ...

    def run(self, caller: Requester, job_id: str) -> object: ...

    async def abort(self, caller: Requester, job_id: str) -> object: ...

    async def delete(self, caller: Requester, job_id: str) -> None: ...

    def set_execution_duration(self, caller: Requester, job_id: str, text: str) -> object: ...

    def set_destruction(self, caller: Requester, job_id: str, text: str) -> object: ...


def text(value: str) -> PlainTextResponse:
    return PlainTextResponse(value)


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def query_value(request: Request, name: str) -> str | None:
    """The query parameter `name` (upper case), named in any case as UWS allows."""
    for key, value in request.query_params.multi_items():
        if key.upper() == name:
            return value
    return None


async def form_value(request: Request, name: str, hint: str) -> str:
    """The one value a job's atomic resource is changed with (`name`=`hint` if missing)."""
    values = await forms.plain_fields(request)
    if name not in values:
        raise BadRequest(f"give {name}={hint}")
    return values[name]


def add_job_routes(router: APIRouter, path: str,
                   service: Callable[[Request], Awaitable[UWSJobs]],
                   list_url: Callable[[Request], str],
                   xml: Callable[[bytes], Response]) -> None:
    """Add the shared job resources to `router` below `path` (the list's path in the
    router: `/jobs`, `/async`), on the service the dependency `service` gives; `list_url` is
    the list's public URL, `xml` renders a UWS document."""
    # The service comes as a default `Depends`, not an `Annotated` alias: FastAPI resolves
    # annotations in the module's globals, where an alias made here would not be found.
    jobs_of = Depends(service)
    job = f"{path}/{{job_id}}"

    def job_url(request: Request, job_id: str) -> str:
        return f"{list_url(request)}/{job_id}"

    async def change_phase(request: Request, jobs: UWSJobs, caller: Requester, job_id: str,
                           phase: str) -> Response:
        action = phase.strip().upper()
        if action == "ABORT":
            await jobs.abort(caller, job_id)
        elif action == "RUN":
            jobs.run(caller, job_id)
        else:
            raise BadRequest(f"PHASE must be RUN or ABORT, got {phase!r}")
        return see(job_url(request, job_id))

    @router.get(job, summary="A job (WAIT=seconds blocks while it stays in its phase)")
    async def get_job(request: Request, job_id: str, caller: CallerDep,
                      jobs: UWSJobs = jobs_of) -> Response:
        wait = query_value(request, "WAIT")
        if wait is not None:
            found = await jobs.wait(caller, job_id, wait, query_value(request, "PHASE"))
        else:
            found = jobs.get(caller, job_id)
        return xml(job_document(found, job_url(request, found.id), jobs.quote(found)))

    @router.post(job, summary="Delete a job (ACTION=DELETE) or change its phase")
    async def post_job(request: Request, job_id: str, caller: CallerDep,
                       jobs: UWSJobs = jobs_of) -> Response:
        values = await forms.plain_fields(request)
        if values.get("ACTION", "").upper() == "DELETE":
            await jobs.delete(caller, job_id)
            return see(list_url(request))
        if "ACTION" in values:
            raise BadRequest(f"ACTION must be DELETE, got {values['ACTION']!r}")
        if "PHASE" in values:
            return await change_phase(request, jobs, caller, job_id, values["PHASE"])
        raise BadRequest("POST to a job needs ACTION=DELETE or PHASE=RUN|ABORT")

    @router.delete(job, summary="Delete a job")
    async def delete_job(request: Request, job_id: str, caller: CallerDep,
                         jobs: UWSJobs = jobs_of) -> Response:
        await jobs.delete(caller, job_id)
        return see(list_url(request))

    @router.get(f"{job}/phase")
    async def get_phase(job_id: str, caller: CallerDep, jobs: UWSJobs = jobs_of) -> Response:
        return text(jobs.get(caller, job_id).phase.value)

    @router.post(f"{job}/phase")
    async def post_phase(request: Request, job_id: str, caller: CallerDep,
                         jobs: UWSJobs = jobs_of) -> Response:
        value = await form_value(request, "PHASE", "RUN or PHASE=ABORT")
        return await change_phase(request, jobs, caller, job_id, value)

    def settable(resource: str, name: str, hint: str, read: Callable[[Job], str],
                 setter: Callable[[UWSJobs], Callable[[Requester, str, str], object]]) -> None:
        """GET and POST of an atomic value the owner may set (`name`=`hint`), read from the
        job by `read`, set by the service's method `setter` picks."""

        @router.get(f"{job}/{resource}", name=f"get_{resource}")
        async def get_value(job_id: str, caller: CallerDep,
                            jobs: UWSJobs = jobs_of) -> Response:
            return text(read(jobs.get(caller, job_id)))

        @router.post(f"{job}/{resource}", name=f"post_{resource}")
        async def post_value(request: Request, job_id: str, caller: CallerDep,
                             jobs: UWSJobs = jobs_of) -> Response:
            setter(jobs)(caller, job_id, await form_value(request, name, hint))
            return see(job_url(request, job_id))

    settable("executionduration", "EXECUTIONDURATION", "<seconds>",
             lambda found: str(found.execution_duration),
             lambda jobs: jobs.set_execution_duration)
    settable("destruction", "DESTRUCTION", "<ISO 8601 time>",
             lambda found: iso(found.destruction),
             lambda jobs: jobs.set_destruction)

    @router.get(f"{job}/quote")
    async def get_quote(job_id: str, caller: CallerDep, jobs: UWSJobs = jobs_of) -> Response:
        return text(iso(jobs.quote(jobs.get(caller, job_id))))

    @router.get(f"{job}/owner")
    async def get_owner(job_id: str, caller: CallerDep, jobs: UWSJobs = jobs_of) -> Response:
        return text(jobs.get(caller, job_id).owner or "")

    @router.get(f"{job}/parameters")
    async def get_parameters(request: Request, job_id: str, caller: CallerDep,
                             jobs: UWSJobs = jobs_of) -> Response:
        found = jobs.get(caller, job_id)
        return xml(parameters_document(found, job_url(request, found.id)))

    @router.get(f"{job}/results")
    async def get_results(request: Request, job_id: str, caller: CallerDep,
                          jobs: UWSJobs = jobs_of) -> Response:
        found = jobs.get(caller, job_id)
        return xml(results_document(found, job_url(request, found.id)))
