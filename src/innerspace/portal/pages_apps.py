"""The apps pages: the catalogue with its search (/portal/apps?q=), one app with the form
generated from its manifest (/portal/apps/{name}), the check of one value the page's script
asks for (/portal/apps/{name}/check), and Run (POST /portal/apps/{name}/run), which creates
the job through the job service, as POST /jobs does, and opens its page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from innerspace.apps.catalogue import AppImage
from innerspace.auth import Caller
from innerspace.errors import InnerspaceError, NotFound
from innerspace.portal import csrf, forms
from innerspace.portal.identity import Viewer, actor
from innerspace.portal.templating import render
from innerspace.portal.views import AppEntry, app_catalogue
from innerspace.units import format_memory
from innerspace.uws.request import JobRequest
from innerspace.uws.service import JobService
from innerspace.web import forms as web_forms

router = APIRouter()

MAX_QUERY = 200  # characters of a search


@router.get("/portal/apps", include_in_schema=False)
async def apps_page(request: Request, caller: Viewer, q: str = "") -> Response:
    query = q.strip()[:MAX_QUERY]
    catalogue = await app_catalogue(request, caller, query)
    return render(request, "apps.html", {"catalogue": catalogue, "query": query},
                  caller=caller)


async def _entry(request: Request, caller: Caller, name: str) -> AppEntry:
    """The app `name` as `caller` may see it (404 as for an app that does not exist)."""
    catalogue = await app_catalogue(request, caller)
    for entry in catalogue.apps:
        if entry.name == name:
            return entry
    raise NotFound(f"no app {name!r} in the catalogue"
                   + (f" ({catalogue.problem})" if catalogue.problem else ""))


def _version(entry: AppEntry, version: str | None) -> AppImage:
    for image in entry.versions:
        if image.version == version:
            return image
    if version:
        raise NotFound(f"app {entry.name} has no version {version!r}")
    return entry.latest


def app_page(request: Request, caller: Caller, entry: AppEntry, image: AppImage,
             values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
             problem: str | None = None, status: int = 200) -> Response:
    """The app's page and its form (`values` shown, `errors` at their fields)."""
    fields = forms.form_fields(image.manifest)
    resources = image.manifest.resources
    return render(request, "app.html", {
        "entry": entry, "app": image, "manifest": image.manifest, "fields": fields,
        "values": forms.initial_values(fields, values), "errors": errors or {},
        "problem": problem,
        "memory": format_memory(resources.memory_bytes),
    }, status=status, caller=caller)


@router.get("/portal/apps/{name}", include_in_schema=False)
async def show_app(request: Request, name: str, caller: Viewer,
                   version: str | None = None,
                   from_job: Annotated[str | None, Query(alias="from")] = None) -> Response:
    entry = await _entry(request, caller, name)
    if not from_job:
        return app_page(request, caller, entry, _version(entry, version))
    # Re-run with changed values: the form prefilled with a job's parameters (the
    # caller's job only: JobService.get answers 404 for anyone else's).
    job = request.app.state.services.jobs.get(caller, from_job)
    if job.app != name:
        raise NotFound(f"job {job.id} is not a job of app {name}")
    kept = any(image.version == job.app_version for image in entry.versions)
    return app_page(request, caller, entry,
                    _version(entry, version or (job.app_version if kept else None)),
                    forms.given_parameters(job.parameters))


@router.get("/portal/apps/{name}/check", include_in_schema=False)
async def check_field(request: Request, name: str, caller: Viewer, field: str,
                      value: str = "", version: str | None = None) -> Response:
    """The message the service gives for one value of one field (null: it is good)."""
    image = _version(await _entry(request, caller, name), version)
    if field not in image.manifest.parameters:
        raise NotFound(f"app {name} has no parameter {field!r}")
    return JSONResponse({"field": field,
                         "message": forms.check_value(image.manifest, field, value)})


@router.post("/portal/apps/{name}/run", include_in_schema=False)
async def run_app(request: Request, name: str,
                  fields: Annotated[list[web_forms.Field], Depends(csrf.checked_form)],
                  caller: Annotated[Caller, Depends(actor)]) -> Response:
    entry = await _entry(request, caller, name)
    image = _version(entry, forms.submitted_version(fields))
    submission = forms.read_submission(image.manifest, fields)
    if submission.errors:
        return app_page(request, caller, entry, image, submission.values, submission.errors,
                        status=400)
    service: JobService = request.app.state.services.jobs
    try:
        job = await service.create(caller, JobRequest(
            app=f"{image.name}:{image.version}", phase="RUN",
            parameters=submission.parameters))
    except InnerspaceError as exc:
        if exc.status >= 500 and exc.status != 503:
            raise
        message = exc.describe()
        at = forms.error_field(image.manifest, message)
        return app_page(request, caller, entry, image, submission.values,
                        {at: message} if at else None, None if at else message,
                        status=exc.status)
    return RedirectResponse(f"/portal/jobs/{job.id}", status_code=303)
