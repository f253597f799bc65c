"""The job page's live updates: a server-sent event stream (/portal/jobs/{id}/events) of
the job's state - phase, progress message, times, results - sent at once and then at every
phase change, through JobService.wait (UWS WAIT, woken by the PhaseNotifier: no polling).
A change of the app's progress message (which does not move the phase) is seen at the next
heartbeat. While the job runs, its new lines of stdout and stderr go as `output` events
(from the runner's live tail, uws/liveoutput.py, woken by each new line: no polling), at
most one every OUTPUT_INTERVAL seconds, each with the number of its last line as its SSE id:
a reconnecting EventSource sends it back (Last-Event-ID) and the stream resumes after it,
without repeating lines.

Bounded: one stream per request, ending when the job reaches a final phase, when it is
gone, or after MAX_LIFETIME seconds (the page's script opens a new one); a comment line
every HEARTBEAT seconds keeps proxies from closing an idle stream."""

from __future__ import annotations

import asyncio
import json
import time
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from innerspace.errors import NotFound
from innerspace.uws.liveoutput import OutputBatch
from innerspace.uws.store import Job
from innerspace.uws.waiting import BLOCKING

HEARTBEAT = 15.0  # seconds between two comment lines of an idle stream
OUTPUT_INTERVAL = 0.25  # seconds between two output events, at least
MAX_LIFETIME = 600.0  # seconds a stream lasts at most


def state(job: Job, quote: float | None) -> dict[str, Any]:
    """What the page shows of a job that changes while it runs."""
    return {
        "phase": job.phase.value, "final": job.phase.is_final, "message": job.message,
        "start_time": job.start_time, "end_time": job.end_time, "quote": quote,
        "error": job.error_message,
        "results": [{"id": r.id, "size": r.size, "mime_type": r.mime_type}
                    for r in job.results],
    }


def event(name: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    head = "" if event_id is None else f"id: {event_id}\n"
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class LiveFeed(Protocol):
    """A running job's live output (the runner's, for one job)."""

    def read(self, since: int) -> OutputBatch | None:
        """The lines after `since`; None when the job has no live tail (not running)."""

    def watch(self) -> asyncio.Event | None:
        """The event the next line sets; None when the job has no live tail."""


async def job_events(read: Callable[[], Job], wait: Callable[[int], Awaitable[Job]],
                     quote: Callable[[Job], float | None], job_id: str,
                     output: LiveFeed | None = None, since: int = 0,
                     heartbeat: float = HEARTBEAT,
                     lifetime: float = MAX_LIFETIME) -> AsyncIterator[bytes]:
    """The stream of the job `read()` gives (as the caller may see it); `wait(seconds)` is
    JobService.wait (UWS WAIT: returns when the phase moves, or after `seconds`); `output`
    the job's live output, sent from the line after `since`."""
    deadline = time.monotonic() + lifetime
    last: dict[str, Any] | None = None
    cursor = since
    sent_at = -OUTPUT_INTERVAL  # when the last output event went (monotonic)
    yield b"retry: 3000\n\n"
    phase_task: asyncio.Future[Job] | None = None
    lines_task: asyncio.Task[None] | None = None
    try:
        job = read()
        fresh = True  # `job` was just read (not the one of a wake-up by output)
        while True:
            if fresh:
                now = state(job, quote(job))
                if _changed(now, last):
                    yield event("state", now)
                    last = now
                elif phase_task is not None:
                    yield b": heartbeat\n\n"
                phase_task = None
            woken = output.watch() if output is not None else None  # before reading
            batch = output.read(cursor) if output is not None else None
            if batch is not None and batch.lines:
                cursor = batch.cursor
                sent_at = time.monotonic()
                yield event("output", {
                    "lines": [[line.stream, line.text] for line in batch.lines],
                    "skipped": batch.skipped}, event_id=cursor)
            if job.phase.is_final:
                yield event("end", {"phase": job.phase.value})
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                yield event("timeout", {})
                return
            if phase_task is None:
                seconds = max(1, int(min(heartbeat, remaining)))
                phase_task = asyncio.ensure_future(
                    wait(seconds) if job.phase in BLOCKING else _later(read, seconds))
            if lines_task is not None:
                lines_task.cancel()
            lines_task = None if woken is None else asyncio.create_task(
                _lines(woken, sent_at + OUTPUT_INTERVAL - time.monotonic()))
            waiting: set[asyncio.Future[Any]] = {phase_task}
            if lines_task is not None:
                waiting.add(lines_task)
            await asyncio.wait(waiting, timeout=remaining, return_when=FIRST_COMPLETED)
            fresh = phase_task.done()
            if fresh:
                job = phase_task.result()
    except NotFound:
        yield event("gone", {"id": job_id})
    finally:
        for task in (phase_task, lines_task):
            if task is not None:
                task.cancel()


async def _later(read: Callable[[], Job], seconds: float) -> Job:
    """The job after `seconds` (HELD, SUSPENDED: WAIT does not block on them; nothing
    moves them here)."""
    await asyncio.sleep(seconds)
    return read()


async def _lines(woken: asyncio.Event, pause: float) -> None:
    """Return when new lines came, but not before `pause` seconds (the rate limit)."""
    if pause > 0:
        await asyncio.sleep(pause)
    await woken.wait()


def _changed(now: dict[str, Any], last: dict[str, Any] | None) -> bool:
    """Whether the page must hear of `now` (the quote alone moves with the clock)."""
    if last is None:
        return True
    return {k: v for k, v in now.items() if k != "quote"} != \
        {k: v for k, v in last.items() if k != "quote"}
