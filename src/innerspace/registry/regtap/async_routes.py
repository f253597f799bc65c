"""The RegTAP service's asynchronous queries: a UWS 1.1 job list at /registry/tap/async (TAP
1.1 sect. 2.3), on innerspace's own UWS machinery (uws/inprocess.py) with the query as its
executor: run by the same query workers, under the same gate and limits as /sync, the result
document (VOTable or the RESPONSEFORMAT asked for) kept as the job's `result`, a failure as
its error summary with the DALI error document at its /error.

The job resources both job lists share (phase, execution duration, destruction, quote, owner,
the job, parameters and results documents) are uws/job_routes.py's; here are the list,
creation and parameters with TAP's parameters, the result and the DALI error document.

Parameters: REQUEST, LANG, QUERY, MAXREC, RESPONSEFORMAT (FORMAT), RUNID, and UWS's PHASE,
EXECUTIONDURATION (capped by the query time limit), DESTRUCTION (`[tap_jobs]`). Jobs are
their owner's (web/caller.py), as the jobs of /jobs are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from lxml import etree

from innerspace.config import Settings
from innerspace.db import open_database
from innerspace.errors import NotFound, Unavailable
from innerspace.registry.regtap.index import RegTAPIndex
from innerspace.registry.regtap.request import SyncQuery
from innerspace.registry.regtap.results import error_document, result_document
from innerspace.registry.regtap.routes import PATH, tap_parameters
from innerspace.uws.inprocess import InProcessJobs, Outcome
from innerspace.uws.job_routes import add_job_routes, query_value, see
from innerspace.uws.store import Job, JobStore
from innerspace.uws.xml import UWS_NS, job_list_document
from innerspace.web import downloads, media
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


async def _fields(request: Request) -> list[tuple[str, str]]:
    """The TAP parameters of a creation or a change, names upper-cased, the last value."""
    return [(name.upper(), values[-1])
            for name, values in (await tap_parameters(request)).items()]


@router.get("/async", summary="TAP asynchronous queries: the caller's job list")
async def list_jobs(request: Request, jobs: Jobs, caller: CallerDep) -> Response:
    items = request.query_params.multi_items()
    refs = jobs.list_jobs(caller, [v for k, v in items if k.upper() == "PHASE"],
                          query_value(request, "AFTER"), query_value(request, "LAST"))
    return Response(job_list_document(refs, async_url(request)), media_type=media.XML)


@router.post("/async", summary="TAP asynchronous query: create a job")
async def create_job(request: Request, jobs: Jobs, caller: CallerDep) -> Response:
    job = jobs.create(caller, await _fields(request))
    return see(job_url(request, job.id))


add_job_routes(router, "/async", get_jobs, async_url, xml)


@router.get("/async/{job_id}/error", summary="The DALI error document of a failed query")
async def get_error(job_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    job = jobs.get(caller, job_id)
    path = jobs.error_file(job)
    if path is None:
        raise NotFound(f"job {job.id} has no error (it is {job.phase})")
    return downloads.job_file(path, media.VOTABLE, "error.xml")


@router.post("/async/{job_id}/parameters")
async def post_parameters(request: Request, job_id: str, jobs: Jobs,
                          caller: CallerDep) -> Response:
    jobs.update_parameters(caller, job_id, await _fields(request))
    return see(job_url(request, job_id))


@router.get("/async/{job_id}/results/{result_id}")
async def get_result(job_id: str, result_id: str, jobs: Jobs, caller: CallerDep) -> Response:
    path, mime_type = jobs.result_file(jobs.get(caller, job_id), result_id)
    return downloads.job_file(path, mime_type, f"{result_id}")
