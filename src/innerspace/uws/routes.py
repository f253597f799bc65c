"""HTTP routes of the UWS 1.1 job list at /jobs. Handlers stay thin: parse, call the
JobService, render. Atomic values are text/plain; documents are UWS XML; every change
answers 303 See Other to the resource to look at next. The job resources every job list
shares (phase, execution duration, destruction, ...) are job_routes.py's; here are the
list, creation, parameters with uploads, result and input files and the error summary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from innerspace.uws.job_routes import add_job_routes, see, text
from innerspace.uws.request import JobRequest, Upload
from innerspace.uws.service import JobService
from innerspace.uws.xml import job_list_document
from innerspace.web import downloads, forms, media
from innerspace.web.caller import CallerDep
from innerspace.web.urls import base_url

router = APIRouter()


# A coroutine, so that FastAPI does not hand it to a worker thread.
async def get_service(request: Request) -> JobService:
    service: JobService = request.app.state.services.jobs
    return service


Service = Annotated[JobService, Depends(get_service)]


def jobs_url(request: Request) -> str:
    return f"{base_url(request)}/jobs"


def job_url(request: Request, job_id: str) -> str:
    return f"{jobs_url(request)}/{job_id}"


def xml(body: bytes) -> Response:
    return Response(body, media_type=media.XML)


@asynccontextmanager
async def form_fields(request: Request) -> AsyncIterator[list[tuple[str, str | Upload]]]:
    """The request's fields, uploads as the job service takes them."""
    async with forms.form_fields(request) as fields:
        yield [(name, Upload(value.filename, value.file) if isinstance(value, UploadFile)
                else value) for name, value in fields]


@router.get("/jobs", summary="UWS job list",
            description="The caller's jobs (UWS 1.1 filters PHASE, AFTER, LAST). "
                        "Administrators may add OWNER=name for one owner's jobs, or OWNER=* "
                        "for everyone's.")
async def list_jobs(request: Request, service: Service, caller: CallerDep,
                    PHASE: Annotated[list[str] | None, Query()] = None,
                    AFTER: str | None = None, LAST: str | None = None,
                    OWNER: str | None = None) -> Response:
    params = {k.upper(): v for k, v in request.query_params.multi_items()}
    phases = [v for k, v in request.query_params.multi_items() if k.upper() == "PHASE"]
    refs = service.list_jobs(caller, phases or PHASE or [], params.get("AFTER", AFTER),
                             params.get("LAST", LAST), params.get("OWNER", OWNER))
    return xml(job_list_document(refs, jobs_url(request)))


@router.post("/jobs", summary="Create a job")
async def create_job(request: Request, service: Service, caller: CallerDep) -> Response:
    async with form_fields(request) as fields:
        job = await service.create(caller, JobRequest.from_fields(fields))
    return see(job_url(request, job.id))


add_job_routes(router, "/jobs", get_service, jobs_url, xml)


@router.get("/jobs/{job_id}/error", summary="The error summary of a job that failed")
async def get_error(job_id: str, service: Service, caller: CallerDep) -> Response:
    job = service.get(caller, job_id)
    return text(job.error_message or "")


@router.post("/jobs/{job_id}/parameters")
async def post_parameters(request: Request, job_id: str, service: Service,
                          caller: CallerDep) -> Response:
    async with form_fields(request) as fields:
        await service.update_parameters(caller, job_id, fields)
    return see(job_url(request, job_id))


@router.get("/jobs/{job_id}/results/{result_id:path}")
async def get_result(job_id: str, result_id: str, service: Service, caller: CallerDep) -> Response:
    job = service.get(caller, job_id)
    path, mime_type = service.result_file(job, result_id)
    return downloads.job_file(path, mime_type, result_id.rsplit("/", 1)[-1])


@router.get("/jobs/{job_id}/inputs/{name}")
async def get_input(job_id: str, name: str, service: Service, caller: CallerDep) -> Response:
    path = service.input_file(service.get(caller, job_id), name)
    return downloads.job_file(path, "application/octet-stream", path.name)
