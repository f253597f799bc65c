"""The jobs pages: one job (/portal/jobs/{id}: phase, progress, times, parameters, results,
error, logs, snippets; its live updates as server-sent events, with the live tail of its
output while it runs; abort and delete; result previews, downloads and the zip of them
all) and the caller's jobs list (/portal/jobs: filters, keyset pages, bulk delete). Jobs
are private as in UWS: every route reads the job through JobService.get with the caller
(404 for anyone else's, administrators aside), and every action goes through the
JobService the UWS API uses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from innerspace.auth import Caller
from innerspace.errors import Forbidden, InnerspaceError, NotFound
from innerspace.portal import csrf, events, images, joblist, previews
from innerspace.portal.identity import Actor
from innerspace.portal.jobview import job_view
from innerspace.portal.templating import render
from innerspace.portal.zipstream import zip_stream
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.liveoutput import OutputBatch
from innerspace.uws.phases import Phase
from innerspace.uws.runner import JobRunner
from innerspace.uws.service import JobService
from innerspace.uws.store import Job
from innerspace.web import downloads
from innerspace.web import forms as web_forms

router = APIRouter()

MAX_BULK = 200  # jobs one bulk delete may name


def _service(request: Request) -> JobService:
    service: JobService = request.app.state.services.jobs
    return service


def _files(request: Request, job: Job) -> JobFiles:
    return JobFiles.of(request.app.state.settings.jobs_dir, job.id)


# -- the jobs list ---------------------------------------------------------------------------


def _filter(caller: Caller, everyone: bool, phase: list[str], app: str, since: str,
            until: str, before: str | None) -> joblist.JobFilter:
    if everyone and not caller.admin:
        raise Forbidden("only administrators list every owner's jobs")
    return joblist.JobFilter(
        owner=caller.owner, everyone=everyone, phases=joblist.parse_phases(phase),
        app=app.strip(), since=joblist.parse_day(since, "from"),
        until=joblist.parse_day(until, "to"), before=joblist.parse_cursor(before))


async def _list_page(request: Request, caller: Caller, wanted: joblist.JobFilter,
                     report: list[tuple[str, str | None]] | None = None,
                     status: int = 200) -> Response:
    store = request.app.state.services.store
    page = await asyncio.to_thread(joblist.job_page, store, wanted)
    apps = await asyncio.to_thread(joblist.app_names, store, caller.owner, wanted.everyone)
    return render(request, "jobs.html", {
        "page": page, "wanted": wanted, "apps": apps, "report": report or [],
        "phases": [p.value for p in Phase],
        "first_url": _list_url(wanted, None),
        "next_url": _list_url(wanted, page.next_cursor) if page.next_cursor else None,
    }, caller=caller, status=status)


def _list_url(wanted: joblist.JobFilter, before: int | None) -> str:
    """The list with the same filters, from `before` (None: from the newest)."""
    query: list[tuple[str, str]] = [("phase", p.value) for p in wanted.phases]
    for name, value in (("app", wanted.app), ("from", str(wanted.since or "")),
                        ("to", str(wanted.until or "")), ("all", "1" if wanted.everyone
                                                          else ""),
                        ("before", str(before or ""))):
        if value:
            query.append((name, value))
    return "/portal/jobs" + (f"?{urlencode(query)}" if query else "")


@router.get("/portal/jobs", include_in_schema=False)
async def jobs_page(request: Request, caller: Actor,
                    phase: Annotated[list[str] | None, Query()] = None, app: str = "",
                    since: Annotated[str, Query(alias="from")] = "",
                    until: Annotated[str, Query(alias="to")] = "",
                    before: str | None = None, all: str = "") -> Response:
    wanted = _filter(caller, all == "1", phase or [], app, since, until, before)
    return await _list_page(request, caller, wanted)


@router.post("/portal/jobs", include_in_schema=False)
async def bulk_delete(request: Request, caller: Actor,
                      fields: Annotated[list[web_forms.Field],
                                        Depends(csrf.checked_form)]) -> Response:
    """Delete the jobs ticked (`job` fields), each through JobService.delete; the list
    again, with what happened to each."""
    ids = [value for name, value in fields if name == "job" and isinstance(value, str)]
    if len(ids) > MAX_BULK:
        raise Forbidden(f"delete at most {MAX_BULK} jobs at once")
    report: list[tuple[str, str | None]] = []
    for job_id in dict.fromkeys(ids):
        try:
            await _service(request).delete(caller, job_id)
            report.append((job_id, None))
        except InnerspaceError as exc:
            if exc.status >= 500 and exc.status != 503:
                raise
            report.append((job_id, exc.describe()))
    everyone = any(name == "all" and value == "1" for name, value in fields)
    wanted = _filter(caller, everyone and caller.admin, [], "", "", "", None)
    return await _list_page(request, caller, wanted, report)


# -- one job ---------------------------------------------------------------------------------


@router.get("/portal/jobs/{job_id}", include_in_schema=False)
async def job_page(request: Request, job_id: str, caller: Actor) -> Response:
    service = _service(request)
    job = service.get(caller, job_id)  # 404 for a job of someone else's, as in UWS
    view = await asyncio.to_thread(job_view, request, job, service.quote(job),
                                   _files(request, job))
    return render(request, "job.html", {"job": job, "view": view}, caller=caller)


class _LiveOutput:
    """One job's live output from the runner (events.LiveFeed)."""

    def __init__(self, runner: JobRunner, job_id: str) -> None:
        self._runner = runner
        self._job_id = job_id

    def read(self, since: int) -> OutputBatch | None:
        return self._runner.live_output(self._job_id, since)

    def watch(self) -> asyncio.Event | None:
        return self._runner.watch_output(self._job_id)


def _cursor(text: str | None) -> int:
    """The number of the last line of output a reconnecting page has (Last-Event-ID, or
    `since` when the page's script opens a new stream); 0 when absent or not a number."""
    if text is None or not text.strip().isdigit() or len(text) > 18:
        return 0
    return int(text)


@router.get("/portal/jobs/{job_id}/events", include_in_schema=False)
async def job_events(request: Request, job_id: str, caller: Actor) -> Response:
    service = _service(request)
    service.get(caller, job_id)  # 404 before the stream starts

    def read() -> Job:
        return service.get(caller, job_id)

    async def wait(seconds: int) -> Job:
        return await service.wait(caller, job_id, str(seconds), None)

    # The caller may see the job (checked above): its live output is theirs to read.
    output = _LiveOutput(request.app.state.services.runner, job_id)
    since = _cursor(request.headers.get("last-event-id")
                    or request.query_params.get("since"))
    stream = events.job_events(read, wait, service.quote, job_id, output, since)
    return StreamingResponse(stream, media_type="text/event-stream", headers={
        "Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/portal/jobs/{job_id}/abort", include_in_schema=False)
async def abort_job(request: Request, job_id: str, caller: Actor,
                    fields: Annotated[list[web_forms.Field],
                                      Depends(csrf.checked_form)]) -> Response:
    await _service(request).abort(caller, job_id)
    return RedirectResponse(f"/portal/jobs/{job_id}", status_code=303)


@router.post("/portal/jobs/{job_id}/delete", include_in_schema=False)
async def delete_job(request: Request, job_id: str, caller: Actor,
                     fields: Annotated[list[web_forms.Field],
                                       Depends(csrf.checked_form)]) -> Response:
    await _service(request).delete(caller, job_id)
    return RedirectResponse("/portal/jobs", status_code=303)


def _result(request: Request, caller: Caller, job_id: str, result_id: str
            ) -> tuple[Job, Path, str]:
    service = _service(request)
    job = service.get(caller, job_id)
    path, mime_type = service.result_file(job, result_id)
    return job, path, mime_type


@router.get("/portal/jobs/{job_id}/preview/{result_id:path}", include_in_schema=False)
async def preview_result(request: Request, job_id: str, result_id: str, caller: Actor,
                         page: int = 1, format: str = "", stretch: str = "asinh",
                         interval: str = "zscale") -> Response:
    job, path, mime_type = _result(request, caller, job_id, result_id)
    if format == "png":
        kind = previews.kind_of(result_id, mime_type)
        if kind == "fits":
            kind = await asyncio.to_thread(previews.fits_kind, path)
        if kind not in ("image", "fits-image"):
            raise NotFound(f"result {result_id!r} has no image preview")
        try:
            data = await asyncio.to_thread(previews.png, path, kind, stretch, interval)
        except images.ImageProblem as problem:
            raise NotFound(f"no image preview of {result_id!r}: {problem}") from None
        return Response(data, media_type="image/png", headers={
            "Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": downloads.SANDBOX_POLICY})
    shown = await asyncio.to_thread(previews.preview, path, result_id, mime_type, page)
    message = shown.message
    if shown.image and shown.kind == "fits-image":
        # Made now, so that a file that is no image says so on the page, not as a broken
        # picture (the PNG route makes it again, for the <img>).
        try:
            await asyncio.to_thread(previews.png, path, shown.kind, stretch, interval)
        except images.ImageProblem as problem:
            message = str(problem)
    return render(request, "preview_result.html", {
        "job": job, "result_id": result_id, "mime_type": mime_type, "preview": shown,
        "message": message, "stretch": stretch if stretch in images.STRETCHES else "asinh",
        "interval": interval if interval in images.INTERVALS else "zscale",
        "stretches": images.STRETCHES, "intervals": images.INTERVALS,
    }, caller=caller)


@router.get("/portal/jobs/{job_id}/download/{result_id:path}", include_in_schema=False)
async def download_result(request: Request, job_id: str, result_id: str,
                          caller: Actor) -> Response:
    """The result as the UWS API serves it (its strict headers), for a browser whose
    identity is the portal's session rather than a bearer token."""
    _, path, mime_type = _result(request, caller, job_id, result_id)
    return downloads.job_file(path, mime_type, Path(result_id).name)


@router.get("/portal/jobs/{job_id}/zip", include_in_schema=False)
async def download_all(request: Request, job_id: str, caller: Actor) -> Response:
    job = _service(request).get(caller, job_id)
    files = _files(request, job)
    entries = [(result.id if result.id not in ("stdout", "stderr") else f"{result.id}.txt",
                path) for result in job.results
               if (path := files.result_path(result.id)) is not None]
    return StreamingResponse(zip_stream(entries), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="job-{job.id}.zip"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
