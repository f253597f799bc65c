"""UWS 1.1 XML documents: the job, its parameters and results (built with vo-models), and
the job list (written directly, because it must stay fast with 10,000 jobs).

vo-models' `skip_empty=True` output is not schema-valid (it drops required nil elements), so
documents are rendered with nils kept. jobInfo holds elements in innerspace's own namespace.

Every instant a client sees (in the job document, the job list and the text resources
/destruction and /quote) is rounded to the millisecond once, by `instant`, and written by
`iso`: vo-models truncates what it is given to milliseconds, so it is given instants that are
already whole milliseconds, and one stored time never reads as two.

The job list and job documents start with an `xml-stylesheet` processing instruction naming
the portal's uws.xsl, so that a browser shows them as pages; clients and the UWS schema
ignore it (a processing instruction before the root element is part of no vocabulary).

The parameter list starts with `app`, the reference that resolves to the job's own image
(`Job.app_reference`), so that a client can re-create the job from its parameters alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from lxml import etree
from pydantic_xml import element
from vo_models.uws.models import ErrorSummary, Job, Parameter, Parameters, ResultReference, Results
from vo_models.uws.types import ErrorType, ExecutionPhase

import innerspace
from innerspace.uws.store import Job as StoredJob
from innerspace.uws.store import JobRef

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
INNERSPACE_NS = "urn:innerspace:uws-jobinfo"
STYLESHEET = "/portal/static/uws.xsl"  # under the service's base path


def stylesheet_href(service_url: str) -> str:
    """The stylesheet's URL for a document of the service at `service_url` (a path, so
    that the browser fetches it from the document's own origin, as XSLT requires; the
    version in the query, since static files are cached for long)."""
    base = urlsplit(service_url).path.rstrip("/")
    return escape(f"{base}{STYLESHEET}?v={innerspace.__version__}", {'"': "&quot;"})


class JobParameters(Parameters):
    """Parameters of any app: a plain list, since apps declare their own names."""

    parameter: list[Parameter] = element(tag="parameter", default_factory=list)

    def __init__(self, **data: object) -> None:
        # Skip vo-models' per-field regrouping, which assumes one model field per name.
        super(Parameters, self).__init__(**data)


# Parametrised once, at import: pydantic builds a new class for Job[...] on first use, which
# is not safe to do from several threads at once (several services in one test process).
# vo-models' Job inherits its type parameter from JobSummary without declaring it, so type
# checkers take it for a plain class; pydantic parametrises it all the same.
JobDocument = Job[JobParameters]  # type: ignore[type-arg]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant(timestamp: float) -> datetime:
    """A stored time (seconds since the epoch) as the instant clients see: UTC, rounded to
    the nearest millisecond (in integers from there on, so no float error comes back)."""
    return _EPOCH + timedelta(milliseconds=round(timestamp * 1000))


def iso(timestamp: float | None) -> str:
    """ISO 8601 UTC with milliseconds, as UWS clients expect (2026-01-02T03:04:05.678Z);
    the same text vo-models writes for `instant(timestamp)`. None is the empty string."""
    if timestamp is None:
        return ""
    return instant(timestamp).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else instant(timestamp)


def parameters_model(job: StoredJob, input_url: str) -> JobParameters:
    """The job's parameters: `app` first (a reserved name no app may declare), then the
    app's own, uploads by reference to their copy under the job's inputs."""
    items = [Parameter(id="app", value=job.app_reference)]
    items += [
        Parameter(id=p.id, value=f"{input_url}/{p.id}" if p.by_reference else p.value,
                  by_reference=p.by_reference)
        for p in job.parameters
    ]
    return JobParameters(parameter=items)


def results_model(job: StoredJob, results_url: str) -> Results:
    return Results(results=[
        ResultReference(id=r.id, href=f"{results_url}/{quote(r.id, safe='/')}", size=r.size,
                        mime_type=r.mime_type)
        for r in job.results
    ])


def job_document(job: StoredJob, job_url: str, quote: float | None,
                 progress: str | None = None) -> bytes:
    error = None
    if job.error_message:
        error = ErrorSummary(message=_summary(job.error_message),
                             type=ErrorType(job.error_type or "fatal"), has_detail=True)
    model = JobDocument(
        job_id=job.id,
        run_id=job.run_id,
        owner_id=job.owner,
        phase=ExecutionPhase(str(job.phase)),
        quote=_when(quote),
        creation_time=_when(job.creation_time),
        start_time=_when(job.start_time),
        end_time=_when(job.end_time),
        execution_duration=job.execution_duration,
        destruction=_when(job.destruction),
        parameters=parameters_model(job, f"{job_url}/inputs"),
        results=results_model(job, f"{job_url}/results"),
        error_summary=error,
    )
    root = cast(etree._Element, model.to_xml_tree())
    if job.run_id is None:
        for node in root.findall(f"{{{UWS_NS}}}runId"):
            root.remove(node)
    info = etree.SubElement(root, f"{{{UWS_NS}}}jobInfo")
    extra = {"app": job.app, "appVersion": job.app_version, "image": job.image}
    if job.exit_code is not None:
        extra["exitCode"] = str(job.exit_code)
    if job.message:
        extra["message"] = job.message
    if progress:
        extra["progress"] = progress
    for key, value in extra.items():
        etree.SubElement(info, f"{{{INNERSPACE_NS}}}{key}", nsmap={"is": INNERSPACE_NS}
                         ).text = value
    service = job_url.rsplit("/jobs/", 1)[0]
    root.addprevious(etree.ProcessingInstruction(
        "xml-stylesheet", f'type="text/xsl" href="{stylesheet_href(service)}"'))
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def _summary(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    return first if len(first) <= 300 else first[:297] + "..."


def parameters_document(job: StoredJob, job_url: str) -> bytes:
    return _utf8(parameters_model(job, f"{job_url}/inputs").to_xml(
        xml_declaration=True, encoding="UTF-8"))


def results_document(job: StoredJob, job_url: str) -> bytes:
    return _utf8(results_model(job, f"{job_url}/results").to_xml(
        xml_declaration=True, encoding="UTF-8"))


def _utf8(document: str | bytes) -> bytes:
    """pydantic-xml's output, which is bytes whenever an encoding is given."""
    return document.encode() if isinstance(document, str) else document


def job_list_document(refs: Iterable[JobRef], jobs_url: str) -> bytes:
    href = stylesheet_href(jobs_url.removesuffix("/jobs"))
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<?xml-stylesheet type="text/xsl" href="{href}"?>\n'
        f'<uws:jobs xmlns:uws="{UWS_NS}" xmlns:xlink="{XLINK_NS}" xmlns:xsi="{XSI_NS}"'
        ' version="1.1">'
    ]
    append = parts.append
    base = escape(jobs_url, {'"': "&quot;"})
    for ref in refs:
        # Job ids come from new_job_id()'s alphabet and phases from the enum: nothing to
        # escape there, which keeps a 10,000-job list fast.
        append(f'<uws:jobref id="{ref.id}" xlink:type="simple" xlink:href="{base}/{ref.id}">'
               f"<uws:phase>{ref.phase.value}</uws:phase>")
        if ref.run_id is not None:
            append(f"<uws:runId>{escape(ref.run_id)}</uws:runId>")
        if ref.owner is None:
            append('<uws:ownerId xsi:nil="true"/>')
        else:
            append(f"<uws:ownerId>{escape(ref.owner)}</uws:ownerId>")
        append(f"<uws:creationTime>{iso(ref.creation_time)}</uws:creationTime></uws:jobref>")
    append("</uws:jobs>")
    return "".join(parts).encode()
