"""HTTP routes of the UWS 1.1 job list at /jobs. Handlers stay thin: parse, call the
JobService, render. Atomic values are text/plain; documents are UWS XML; every change
answers 303 See Other to the resource to look at next."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from innerspace.auth import Caller
from innerspace.errors import BadRequest
from innerspace.uws.request import JobRequest, Upload
from innerspace.uws.service import JobService
from innerspace.uws.xml import (
    iso,
    job_document,
    job_list_document,
    parameters_document,
    results_document,
)
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


def text(value: str) -> PlainTextResponse:
    return PlainTextResponse(value)


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@asynccontextmanager
async def form_fields(request: Request) -> AsyncIterator[list[tuple[str, str | Upload]]]:
    """The request's fields, uploads as the job service takes them."""
    async with forms.form_fields(request) as fields:
        yield [(name, Upload(value.filename, value.file) if isinstance(value, UploadFile)
                else value) for name, value in fields]


async def plain_fields(request: Request) -> dict[str, str]:
    return await forms.plain_fields(request)


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


def _query(request: Request, name: str) -> str | None:
    for key, value in request.query_params.multi_items():
        if key.upper() == name:
            return value
    return None


@router.get("/jobs/{job_id}", summary="A job")
async def get_job(request: Request, job_id: str, service: Service, caller: CallerDep) -> Response:
    wait = _query(request, "WAIT")
    if wait is not None:
        job = await service.wait(caller, job_id, wait, _query(request, "PHASE"))
    else:
        job = service.get(caller, job_id)
    return xml(job_document(job, job_url(request, job.id), service.quote(job)))


@router.post("/jobs/{job_id}", summary="Delete a job (ACTION=DELETE) or change its phase")
async def post_job(request: Request, job_id: str, service: Service, caller: CallerDep) -> Response:
    values = await plain_fields(request)
    if values.get("ACTION", "").upper() == "DELETE":
        await service.delete(caller, job_id)
        return see(jobs_url(request))
    if "ACTION" in values:
        raise BadRequest(f"ACTION must be DELETE, got {values['ACTION']!r}")
    if "PHASE" in values:
        return await _change_phase(request, service, caller, job_id, values["PHASE"])
    raise BadRequest("POST to a job needs ACTION=DELETE or PHASE=RUN|ABORT")


@router.delete("/jobs/{job_id}", summary="Delete a job")
async def delete_job(request: Request, job_id: str, service: Service,
                     caller: CallerDep) -> Response:
    await service.delete(caller, job_id)
    return see(jobs_url(request))


@router.get("/jobs/{job_id}/phase")
async def get_phase(job_id: str, service: Service, caller: CallerDep) -> Response:
    return text(service.get(caller, job_id).phase.value)


async def _change_phase(request: Request, service: JobService, caller: Caller,
                        job_id: str, phase: str) -> Response:
    action = phase.strip().upper()
    if action == "ABORT":
        await service.abort(caller, job_id)
    elif action == "RUN":
        service.run(caller, job_id)
    else:
        raise BadRequest(f"PHASE must be RUN or ABORT, got {phase!r}")
    return see(job_url(request, job_id))


@router.post("/jobs/{job_id}/phase")
async def post_phase(request: Request, job_id: str, service: Service,
                     caller: CallerDep) -> Response:
    values = await plain_fields(request)
    if "PHASE" not in values:
        raise BadRequest("give PHASE=RUN or PHASE=ABORT")
    return await _change_phase(request, service, caller, job_id, values["PHASE"])


@router.get("/jobs/{job_id}/executionduration")
async def get_duration(job_id: str, service: Service, caller: CallerDep) -> Response:
    return text(str(service.get(caller, job_id).execution_duration))


@router.post("/jobs/{job_id}/executionduration")
async def post_duration(request: Request, job_id: str, service: Service,
                        caller: CallerDep) -> Response:
    values = await plain_fields(request)
    if "EXECUTIONDURATION" not in values:
        raise BadRequest("give EXECUTIONDURATION=<seconds>")
    service.set_execution_duration(caller, job_id, values["EXECUTIONDURATION"])
    return see(job_url(request, job_id))


@router.get("/jobs/{job_id}/destruction")
async def get_destruction(job_id: str, service: Service, caller: CallerDep) -> Response:
    return text(iso(service.get(caller, job_id).destruction))


@router.post("/jobs/{job_id}/destruction")
async def post_destruction(request: Request, job_id: str, service: Service,
                           caller: CallerDep) -> Response:
    values = await plain_fields(request)
    if "DESTRUCTION" not in values:
        raise BadRequest("give DESTRUCTION=<ISO 8601 time>")
    service.set_destruction(caller, job_id, values["DESTRUCTION"])
    return see(job_url(request, job_id))


@router.get("/jobs/{job_id}/error")
async def get_error(job_id: str, service: Service, caller: CallerDep) -> Response:
    job = service.get(caller, job_id)
    return text(job.error_message or "")


@router.get("/jobs/{job_id}/quote")
async def get_quote(job_id: str, service: Service, caller: CallerDep) -> Response:
    return text(iso(service.quote(service.get(caller, job_id))))


@router.get("/jobs/{job_id}/owner")
async def get_owner_id(job_id: str, service: Service, caller: CallerDep) -> Response:
    return text(service.get(caller, job_id).owner or "")


@router.get("/jobs/{job_id}/parameters")
async def get_parameters(request: Request, job_id: str, service: Service,
                         caller: CallerDep) -> Response:
    job = service.get(caller, job_id)
    return xml(parameters_document(job, job_url(request, job.id)))


@router.post("/jobs/{job_id}/parameters")
async def post_parameters(request: Request, job_id: str, service: Service,
                          caller: CallerDep) -> Response:
    async with form_fields(request) as fields:
        await service.update_parameters(caller, job_id, fields)
    return see(job_url(request, job_id))


@router.get("/jobs/{job_id}/results")
async def get_results(request: Request, job_id: str, service: Service,
                      caller: CallerDep) -> Response:
    job = service.get(caller, job_id)
    return xml(results_document(job, job_url(request, job.id)))


@router.get("/jobs/{job_id}/results/{result_id:path}")
async def get_result(job_id: str, result_id: str, service: Service, caller: CallerDep) -> Response:
    job = service.get(caller, job_id)
    path, mime_type = service.result_file(job, result_id)
    return downloads.job_file(path, mime_type, result_id.rsplit("/", 1)[-1])


@router.get("/jobs/{job_id}/inputs/{name}")
async def get_input(job_id: str, name: str, service: Service, caller: CallerDep) -> Response:
    path = service.input_file(service.get(caller, job_id), name)
    return downloads.job_file(path, "application/octet-stream", path.name)
