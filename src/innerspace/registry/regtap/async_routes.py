"""The RegTAP service's asynchronous queries: a UWS 1.1 job list at /registry/tap/async (TAP
1.1 sect. 2.3), on innerspace's own UWS machinery (uws/inprocess.py) with the query as its
executor: run by the same query workers, under the same gate and limits as /sync, the result
document (VOTable or the RESPONSEFORMAT asked for) kept as the job's `result`, a failure as
its error summary with the DALI error document at its /error.

Parameters: REQUEST, LANG, QUERY, MAXREC, RESPONSEFORMAT (FORMAT), RUNID, and UWS's PHASE,
EXECUTIONDURATION (capped by the query time limit), DESTRUCTION (`[tap_jobs]`). Jobs are
their owner's (web/caller.py), as the jobs of /jobs are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from lxml import etree

from innerspace.config import Settings
from innerspace.db import open_database
from innerspace.errors import BadRequest, NotFound, Unavailable
from innerspace.registry.regtap.index import RegTAPIndex
from innerspace.registry.regtap.request import SyncQuery
from innerspace.registry.regtap.results import error_document, result_document
from innerspace.registry.regtap.routes import PATH, tap_parameters
from innerspace.uws.inprocess import InProcessJobs, Outcome
from innerspace.uws.store import Job, JobStore
from innerspace.uws.xml import (
    UWS_NS,
    iso,
    job_document,
    job_list_document,
    parameters_document,
    results_document,
)
from innerspace.web import downloads, forms, media
from innerspace.web.caller import CallerDep
from innerspace.web.urls import url_for

APP = "regtap-query"  # the `app` of these jobs in their store
router = APIRouter()


def tap_jobs(settings: Settings, index: RegTAPIndex) -> InProcessJobs:
    """The asynchronous query jobs of `index`, kept in the data directory (`tap-jobs.sqlite`
    and the folder `tap-jobs`); start() them in the service's event loop."""

    async def execute(job: Job) -> Outcome:
        query = SyncQuery.from_parameters({p.id.lower(): [p.value] for p in job.parameters})
        async with index.gate.turn():
            result = await run_in_threadpool(index.query, query.adql, query.maxrec)
            body, media_type = await run_in_threadpool(result_document, result, query.adql,
                                                       query.serialization)
        return Outcome(body, media_type)

    database = open_database(f"sqlite:///{settings.data_dir / 'tap-jobs.sqlite'}")
    return InProcessJobs(JobStore(database), settings.data_dir / "tap-jobs",
                         settings.tap_jobs, APP, execute,
                         lambda message: Outcome(error_document(message), media.VOTABLE),
                         max_duration=int(index.timeout), max_wait=settings.limits.max_wait)


# A coroutine, so that FastAPI does not hand it to a worker thread.
async def get_jobs(request: Request) -> InProcessJobs:
    jobs = getattr(getattr(request.app.state, "services", None), "tap_jobs", None)
    if not isinstance(jobs, InProcessJobs):
        raise Unavailable("asynchronous queries are not available on this service")
    return jobs


Jobs = Annotated[InProcessJobs, Depends(get_jobs)]


def async_url(request: Request) -> str:
    return url_for(request, f"{PATH}/async")


def job_url(request: Request, job_id: str) -> str:
    return f"{async_url(request)}/{job_id}"


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def text(value: str) -> PlainTextResponse:
    return PlainTextResponse(value)


def xml(document: bytes) -> Response:
    """A UWS document without what only app jobs have: the `app` parameter that re-creates
    the job and innerspace's jobInfo about its image."""
    root = etree.fromstring(document)
    app_only = [*root.iter(f"{{{UWS_NS}}}jobInfo"),
                *(p for p in root.iter(f"{{{UWS_NS}}}parameter") if p.get("id") == "app")]
    for node in app_only:
        parent = node.getparent()
        if parent is not None:
            parent.remove(node)
    return Response(etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                    media_type=media.XML)


def _query(request: Request, name: str) -> str | None:
    for key, value in request.query_params.multi_items():
        if key.upper() == name:
            return value
    return None


@router.get("/async", summary="TAP asynchronous queries: the caller's job list")
async def list_jobs(request: Request, jobs: Jobs, caller: CallerDep) -> Response:
    items = request.query_params.multi_items()
    refs = jobs.list_jobs(caller, [v for k, v in items if k.upper() == "PHASE"],
                          _query(request, "AFTER"), _query(request, "LAST"))
    return Response(job_list_document(refs, async_url(request)), media_type=media.XML)


@router.post("/async", summary="TAP asynchronous query: create a job")
async def create_job(request: Request, jobs: Jobs, caller: CallerDep) -> Response:
    fields = [(name.upper(), values[-1])
              for name, values in (await tap_parameters(request)).items()]
    job = jobs.create(caller, fields)
    return see(job_url(request, job.id))


@router.get("/async/{job_id}", summary="An asynchronous query job (WAIT blocks)")
async def get_job(request: Request, job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    wait = _query(request, "WAIT")
    if wait is not None:
        job = await jobs.wait(caller, job_id, wait, _query(request, "PHASE"))
    else:
        job = jobs.get(caller, job_id)
    return xml(job_document(job, job_url(request, job.id), jobs.quote(job)))


@router.post("/async/{job_id}", summary="Delete the job (ACTION=DELETE) or change its phase")
async def post_job(request: Request, job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    values = await forms.plain_fields(request)
    if values.get("ACTION", "").upper() == "DELETE":
        await jobs.delete(caller, job_id)
        return see(async_url(request))
    if "ACTION" in values:
        raise BadRequest(f"ACTION must be DELETE, got {values['ACTION']!r}")
    if "PHASE" in values:
        return await _phase(request, jobs, caller, job_id, values["PHASE"])
    raise BadRequest("POST to a job needs ACTION=DELETE or PHASE=RUN|ABORT")


@router.delete("/async/{job_id}", summary="Delete the job")
async def delete_job(request: Request, job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    await jobs.delete(caller, job_id)
    return see(async_url(request))


async def _phase(request: Request, jobs: InProcessJobs, caller: CallerDep, job_id: str,
                 phase: str) -> Response:
    action = phase.strip().upper()
    if action == "RUN":
        jobs.run(caller, job_id)
    elif action == "ABORT":
        await jobs.abort(caller, job_id)
    else:
        raise BadRequest(f"PHASE must be RUN or ABORT, got {phase!r}")
    return see(job_url(request, job_id))


@router.get("/async/{job_id}/phase")
async def get_phase(job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    return text(jobs.get(caller, job_id).phase.value)


@router.post("/async/{job_id}/phase")
async def post_phase(request: Request, job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    values = await forms.plain_fields(request)
    if "PHASE" not in values:
        raise BadRequest("give PHASE=RUN or PHASE=ABORT")
    return await _phase(request, jobs, caller, job_id, values["PHASE"])


@router.get("/async/{job_id}/executionduration")
async def get_duration(job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    return text(str(jobs.get(caller, job_id).execution_duration))


@router.post("/async/{job_id}/executionduration")
async def post_duration(request: Request, job_id: str, jobs: Jobs,
                        caller: CallerDep) -> Response:
    values = await forms.plain_fields(request)
    if "EXECUTIONDURATION" not in values:
        raise BadRequest("give EXECUTIONDURATION=<seconds>")
    jobs.set_execution_duration(caller, job_id, values["EXECUTIONDURATION"])
    return see(job_url(request, job_id))


@router.get("/async/{job_id}/destruction")
async def get_destruction(job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    return text(iso(jobs.get(caller, job_id).destruction))


@router.post("/async/{job_id}/destruction")
async def post_destruction(request: Request, job_id: str, jobs: Jobs,
                           caller: CallerDep) -> Response:
    values = await forms.plain_fields(request)
    if "DESTRUCTION" not in values:
        raise BadRequest("give DESTRUCTION=<ISO 8601 time>")
    jobs.set_destruction(caller, job_id, values["DESTRUCTION"])
    return see(job_url(request, job_id))


@router.get("/async/{job_id}/quote")
async def get_quote(job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    return text(iso(jobs.quote(jobs.get(caller, job_id))))


@router.get("/async/{job_id}/owner")
async def get_owner(job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    return text(jobs.get(caller, job_id).owner or "")


@router.get("/async/{job_id}/error", summary="The DALI error document of a failed query")
async def get_error(job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    job = jobs.get(caller, job_id)
    path = jobs.error_file(job)
    if path is None:
        raise NotFound(f"job {job.id} has no error (it is {job.phase})")
    return downloads.job_file(path, media.VOTABLE, "error.xml")


@router.get("/async/{job_id}/parameters")
async def get_parameters(request: Request, job_id: str, jobs: Jobs,
                         caller: CallerDep) -> Response:
    job = jobs.get(caller, job_id)
    return xml(parameters_document(job, job_url(request, job.id)))


@router.post("/async/{job_id}/parameters")
async def post_parameters(request: Request, job_id: str, jobs: Jobs,
                          caller: CallerDep) -> Response:
    fields = [(name.upper(), values[-1])
              for name, values in (await tap_parameters(request)).items()]
    jobs.update_parameters(caller, job_id, fields)
    return see(job_url(request, job_id))


@router.get("/async/{job_id}/results")
async def get_results(request: Request, job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    job = jobs.get(caller, job_id)
    return xml(results_document(job, job_url(request, job.id)))


@router.get("/async/{job_id}/results/{result_id}")
async def get_result(job_id: str, result_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    path, mime_type = jobs.result_file(jobs.get(caller, job_id), result_id)
    return downloads.job_file(path, mime_type, f"{result_id}")
