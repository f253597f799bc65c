"""UWS jobs run inside the service process, by an executor given to them: the RegTAP
service's asynchronous queries (/registry/tap/async). They live on the same machinery as the
container jobs of /jobs -- the job store, the phase machine with `JobLifecycle` as the only
writer of phases, the WAIT notifier, the destruction reaper, the UWS documents and the error
hierarchy -- with an executor seam in place of the container runner:
`execute(job)` is a coroutine returning the job's result document, or raising an
InnerspaceError whose message becomes the error summary and `error_result(message)` the
document at the job's /error.

Their jobs are kept in a database of their own (`JobStore` on it), so that the container
runner and its recovery never see them, nor /jobs list them. Bounded: jobs per owner, the
running ones, the result's bytes, the execution duration (capped) and their destruction.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innerspace.apps.access import Requester
from innerspace.config.tapjobs import TAPJobs
from innerspace.errors import BadRequest, Conflict, Forbidden, InnerspaceError, NotFound
from innerspace.uws.errors import JobNotFound, PhaseConflict
from innerspace.uws.lifecycle import JobLifecycle
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import FINAL, Phase
from innerspace.uws.reaper import DestructionReaper
from innerspace.uws.request import list_filter, parse_time, positive_int, run_id
from innerspace.uws.store import Job, JobParameter, JobRef, JobResult, JobStore
from innerspace.uws.store import new_job_id as new_id
from innerspace.uws.waiting import wait_for_change

_JOB_ID = re.compile(r"^[a-z0-9]{16}$")
MAX_PARAMETERS = 32  # parameters a job keeps (the form limits bound their size)
RESULT = "result"  # the id of a completed job's one result


@dataclass(frozen=True)
class Outcome:
    """What an executor returns: the result document and its media type."""

    body: bytes
    media_type: str


Executor = Callable[[Job], Awaitable[Outcome]]


class InProcessJobs:
    """Every UWS operation on the in-process jobs of one kind (`app`), for a caller."""

    def __init__(self, store: JobStore, directory: Path, limits: TAPJobs, app: str,
                 execute: Executor, error_result: Callable[[str], Outcome],
                 max_duration: int, max_wait: int) -> None:
        self._store = store
        self._directory = directory
        self._limits = limits
        self._app = app
        self._execute = execute
        self._error_result = error_result
        self._max_duration = max(1, max_duration)
        self._max_wait = max_wait
        self._notifier = PhaseNotifier()
        self._phases = JobLifecycle(store, self._notifier)
        self._reaper = DestructionReaper(store, self._destroy)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._slots: asyncio.Semaphore | None = None

    # -- the service's life --------------------------------------------------------------

    def start(self) -> None:
        """Start the reaper (in the service's event loop); jobs a previous process left
        queued or running end in ERROR: their query died with it."""
        self._directory.mkdir(parents=True, exist_ok=True)
        self._slots = asyncio.Semaphore(self._limits.max_running)
        for job in self._store.in_phases([Phase.QUEUED, Phase.EXECUTING]):
            self._phases.end(job.id, Phase.ERROR,
                             error_message="the service restarted while the job ran")
        self._reaper.start()

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._reaper.close()
        self._store.close()

    # -- reading ---------------------------------------------------------------------------

    def get(self, caller: Requester, job_id: str) -> Job:
        """The job, if the caller may see it: its owner's, or an administrator's."""
        job = self._store.get(job_id) if _JOB_ID.match(job_id) else None
        if job is None or (job.owner != caller.owner and not caller.admin):
            raise JobNotFound(job_id)  # another owner's job is indistinguishable from none
        return job

    def _own(self, caller: Requester, job_id: str, change: str) -> Job:
        job = self.get(caller, job_id)
        if job.owner != caller.owner:
            raise Forbidden(f"only the owner of job {job.id} may change {change}")
        return job

    def list_jobs(self, caller: Requester, phases: Iterable[str], after: str | None,
                  last: str | None) -> list[JobRef]:
        """The caller's jobs, filtered as UWS 1.1 says (PHASE, AFTER, LAST)."""
        return self._store.list_refs(caller.owner, list_filter(phases, after, last))

    def quote(self, job: Job) -> float | None:
        """When the job should end: its start (or now) plus its execution duration."""
        if job.phase in FINAL:
            return None
        return (job.start_time or time.time()) + job.execution_duration

    async def wait(self, caller: Requester, job_id: str, seconds: str,
                   phase: str | None) -> Job:
        """UWS 1.1 blocking, woken by the phase change itself (waiting.py, as for /jobs)."""
        return await wait_for_change(self._notifier, lambda: self.get(caller, job_id), job_id,
                                     seconds, phase, self._max_wait)

    def result_file(self, job: Job, result_id: str) -> tuple[Path, str]:
        for result in job.results:
            if result.id == result_id:
                return self._directory / job.id / result.id, result.mime_type
        raise NotFound(f"job {job.id} has no result {result_id!r}")

    def error_file(self, job: Job) -> Path | None:
        """The error document of a job that ended in ERROR."""
        path = self._directory / job.id / "error"
        return path if job.phase is Phase.ERROR and path.is_file() else None

    # -- changing ------------------------------------------------------------------------

    def create(self, caller: Requester, fields: Iterable[tuple[str, str]]) -> Job:
        """A new PENDING job with the parameters `fields` (UWS's own RUNID,
        EXECUTIONDURATION, DESTRUCTION taken as such); PHASE=RUN runs it at once."""
        jobs = sum(self._store.phase_counts(caller.owner).values())
        if jobs >= self._limits.max_per_owner:
            raise Conflict(f"you keep {jobs} jobs here, the most this service keeps per "
                           f"owner; delete some first")
        now = time.time()
        uws, parameters = _split(fields)
        job = Job(id=new_id(), owner=caller.owner, phase=Phase.PENDING, app=self._app,
                  app_version="", image="", manifest={}, creation_time=now,
                  execution_duration=self._duration(uws.get("EXECUTIONDURATION")),
                  destruction=self._destruction(uws.get("DESTRUCTION"), now),
                  parameters=parameters, run_id=run_id(uws.get("RUNID")))
        job = self._store.insert(job)
        self._reaper.scheduled(job.destruction)
        phase = uws.get("PHASE")
        if phase is not None and phase.strip().upper() == "RUN":
            self.run(caller, job.id)
        elif phase is not None:
            raise BadRequest(f"PHASE on creation must be RUN, got {phase!r}")
        return job

    def update_parameters(self, caller: Requester, job_id: str,
                          fields: Iterable[tuple[str, str]]) -> Job:
        job = self._own(caller, job_id, "its parameters")
        if job.phase is not Phase.PENDING:
            raise PhaseConflict(f"parameters can only be changed while the job is PENDING; "
                                f"it is {job.phase}")
        uws, given = _split(fields)
        if "PHASE" in uws:
            raise BadRequest("PHASE is changed at the job's /phase, not as a parameter")
        merged = {p.id: p for p in job.parameters}
        merged.update((p.id, p) for p in given)
        if len(merged) > MAX_PARAMETERS:
            raise BadRequest(f"a job takes at most {MAX_PARAMETERS} parameters")
        changes: dict[str, Any] = {"parameters": tuple(merged.values())}
        if "RUNID" in uws:
            changes["run_id"] = run_id(uws["RUNID"])
        if "EXECUTIONDURATION" in uws:
            changes["execution_duration"] = self._duration(uws["EXECUTIONDURATION"])
        if "DESTRUCTION" in uws:
            changes["destruction"] = self._destruction(uws["DESTRUCTION"], job.creation_time)
        self._store.update(job.id, **changes)
        if "destruction" in changes:
            self._reaper.scheduled(changes["destruction"])
        return self.get(caller, job_id)

    def run(self, caller: Requester, job_id: str) -> None:
        """PHASE=RUN: queue the job; it runs when one of the running slots is free. Running
        a job that is already queued or running changes nothing."""
        job = self._own(caller, job_id, "its phase")
        if job.phase in (Phase.QUEUED, Phase.EXECUTING):
            return
        self._phases.move(job.id, Phase.QUEUED, queued_at=time.time())
        self._tasks[job.id] = asyncio.create_task(self._run(job.id),
                                                  name=f"innerspace-{self._app}-{job.id}")

    async def abort(self, caller: Requester, job_id: str) -> None:
        job = self.get(caller, job_id)
        if job.phase.is_final:
            return  # nothing left to stop
        await self._stop(job.id)
        self._phases.end(job.id, Phase.ABORTED, error_message=None)

    def set_execution_duration(self, caller: Requester, job_id: str, text: str) -> None:
        job = self._own(caller, job_id, "its execution duration")
        if job.phase is not Phase.PENDING:
            raise PhaseConflict(f"the execution duration can only be changed while the job "
                                f"is PENDING; it is {job.phase}")
        self._store.update(job.id, execution_duration=self._duration(text))

    def set_destruction(self, caller: Requester, job_id: str, text: str) -> None:
        job = self._own(caller, job_id, "its destruction time")
        when = self._destruction(text, job.creation_time)
        self._store.update(job.id, destruction=when)
        self._reaper.scheduled(when)

    async def delete(self, caller: Requester, job_id: str) -> None:
        await self._destroy(self.get(caller, job_id))

    async def _destroy(self, job: Job) -> None:
        """The job and its files go (deletion, or its destruction time has come)."""
        await self._stop(job.id)
        self._store.delete(job.id)
        self._notifier.changed(job.id)
        await asyncio.to_thread(shutil.rmtree, self._directory / job.id, True)

    async def _stop(self, job_id: str) -> None:
        task = self._tasks.pop(job_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _duration(self, text: str | None) -> int:
        """EXECUTIONDURATION in seconds, capped by the longest this service allows (0 or
        none given: that longest)."""
        if text is None or text.strip() == "0":
            return self._max_duration
        seconds = positive_int(text)
        if seconds is None:
            raise BadRequest(f"EXECUTIONDURATION must be a whole number of seconds, "
                             f"got {text!r}")
        return min(seconds, self._max_duration)

    def _destruction(self, text: str | None, created: float) -> float:
        """DESTRUCTION asked for, no later than the longest this service keeps a job."""
        latest = created + self._limits.max_destruction
        if text is None:
            return created + self._limits.default_destruction
        return min(parse_time(text), latest)

    # -- running ---------------------------------------------------------------------------

    async def _run(self, job_id: str) -> None:
        """Wait for a slot, run the executor within the execution duration, store what it
        gives; every phase change through the lifecycle, so that an abort or a deletion
        meeting the end leaves one of them."""
        assert self._slots is not None, "start() first"
        try:
            async with self._slots:
                self._phases.move(job_id, Phase.EXECUTING, start_time=time.time())
                job = self._store.get(job_id)
                if job is None:
                    return
                try:
                    outcome = await asyncio.wait_for(self._execute(job),
                                                     job.execution_duration)
                except TimeoutError:
                    self._fail(job, f"the job ran longer than its execution duration "
                                    f"({job.execution_duration} s)")
                except InnerspaceError as exc:
                    self._fail(job, exc.describe())
                else:
                    self._complete(job, outcome)
        except (JobNotFound, PhaseConflict):
            pass  # aborted or deleted meanwhile
        finally:
            if self._tasks.get(job_id) is asyncio.current_task():
                del self._tasks[job_id]

    def _complete(self, job: Job, outcome: Outcome) -> None:
        size = len(outcome.body)
        if size > self._limits.max_result_bytes:
            self._fail(job, f"the result takes {size} bytes, more than the "
                            f"{self._limits.max_result_bytes} a job may keep; ask for fewer "
                            f"rows (MAXREC) or columns")
            return
        self._write(job.id, RESULT, outcome.body)
        self._phases.end(job.id, Phase.COMPLETED, stored_bytes=size,
                         results=(JobResult(RESULT, size, outcome.media_type),))

    def _fail(self, job: Job, message: str) -> None:
        document = self._error_result(message).body
        self._write(job.id, "error", document)
        self._phases.end(job.id, Phase.ERROR, error_message=message,
                         stored_bytes=len(document))

    def _write(self, job_id: str, name: str, body: bytes) -> None:
        folder = self._directory / job_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)


_UWS_NAMES = frozenset({"PHASE", "RUNID", "EXECUTIONDURATION", "DESTRUCTION"})


def _split(fields: Iterable[tuple[str, str]]) -> tuple[dict[str, str], tuple[JobParameter, ...]]:
    """UWS's own values (by upper-cased name) and the job's parameters (names upper-cased:
    TAP's are case-insensitive; a name given again replaces the value)."""
    uws: dict[str, str] = {}
    parameters: dict[str, JobParameter] = {}
    for name, value in fields:
        key = name.upper()
        if key in _UWS_NAMES:
            uws[key] = value
        else:
            parameters[key] = JobParameter(key, value)
    if len(parameters) > MAX_PARAMETERS:
        raise BadRequest(f"a job takes at most {MAX_PARAMETERS} parameters")
    return uws, tuple(parameters.values())
