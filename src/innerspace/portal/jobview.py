"""What the job page shows of a job, gathered once (in a thread: it reads the log files):
its times as text, its parameters (the app first), its results with their preview kinds,
the tails of its stdout and stderr, and the snippets that make it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request

from innerspace.portal import previews, snippets
from innerspace.uws.jobfiles import LOG_RESULTS, JobFiles
from innerspace.uws.store import Job
from innerspace.web.urls import base_url

TAIL_BYTES = 16 * 1024  # of each log shown


@dataclass(frozen=True)
class ResultLine:
    id: str
    size: str
    mime_type: str
    kind: str | None


@dataclass(frozen=True)
class JobView:
    times: list[tuple[str, str, str]]  # (label, text, ISO value for <time>)
    parameters: list[tuple[str, str, bool]]  # (name, value, is an upload)
    results: list[ResultLine]
    logs: list[tuple[str, str, bool]]  # (stdout|stderr, tail, cut at the start)
    snippets: list[snippets.Snippet]
    rerun: str


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def when(epoch: float | None) -> tuple[str, str]:
    if epoch is None:
        return "—", ""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC"), moment.isoformat(timespec="seconds")


def duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def tail(path: Path, size: int = TAIL_BYTES) -> tuple[str, bool] | None:
    """The last `size` bytes of a log as text (and whether it was cut), None if absent."""
    try:
        with path.open("rb") as log:
            log.seek(0, 2)
            length = log.tell()
            log.seek(max(0, length - size))
            data = log.read(size)
    except OSError:
        return None
    return data.decode("utf-8", "replace"), length > size


def job_view(request: Request, job: Job, quote: float | None, files: JobFiles) -> JobView:
    times = [("Created", *when(job.creation_time)), ("Started", *when(job.start_time)),
             ("Ended", *when(job.end_time))]
    if job.start_time is not None and job.end_time is not None:
        times.append(("Ran for", duration(job.end_time - job.start_time), ""))
    times += [("Execution duration", "unlimited" if job.execution_duration == 0
               else duration(job.execution_duration), ""),
              ("Expected end (quote)", *when(quote)),
              ("Destruction", *when(job.destruction))]
    parameters = [("app", job.app_reference, False)]
    parameters += [(p.id, p.file or p.value, bool(p.file)) for p in job.parameters]
    results = [ResultLine(r.id, human_size(r.size), r.mime_type,
                          previews.kind_of(r.id, r.mime_type))
               for r in job.results if r.id not in LOG_RESULTS]
    logs = []
    for name in LOG_RESULTS:
        found = tail(files.log(name))
        if found is not None:
            logs.append((name, *found))
    service_url = base_url(request)
    return JobView(times, parameters, results, logs, snippets.snippets(job, service_url),
                   f"/portal/apps/{job.app}?version={job.app_version}&from={job.id}")
