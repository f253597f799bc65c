"""The job runner: a FIFO queue in front of the engine, supervision of running containers,
execution-duration enforcement, destruction, and recovery after a restart.

The database is the truth; the in-memory queue and task table are rebuilt from it (and from
the engine's own list of this service's containers) when the service starts. Whatever goes
wrong while a job runs, the job ends in a final phase with a message: it never stays
QUEUED or EXECUTING with nobody watching it. Every phase change goes through JobLifecycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from innerspace.config import Settings
from innerspace.engines.base import Engine, EngineError
from innerspace.uws.errors import JobNotFound, PhaseConflict
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.launch import check_allowed, prepare
from innerspace.uws.lifecycle import JobLifecycle
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.outcome import judge
from innerspace.uws.phases import Phase, check_transition
from innerspace.uws.progress import ProgressReporter
from innerspace.uws.reaper import DestructionReaper
from innerspace.uws.store import Job, JobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueState:
    """Where a job stands before the engine, for its quote: the jobs ahead of it in the
    queue (the whole queue when it is not queued), those running, and how many may run."""

    ahead: int
    running: int
    slots: int

    @property
    def rounds(self) -> int:
        """How many runs, one after another, until this job has had its own."""
        return (self.ahead + self.running) // self.slots + 1


@dataclass
class _Running:
    task: asyncio.Task[None]
    handle: str | None = None
    aborting: bool = False


class RecoveryError(RuntimeError):
    """The engine could not be asked which job containers exist; starting would misjudge
    running jobs as lost, so the service refuses to start."""


class JobRunner:
    """Starts queued jobs on the engine, at most `limits.max_running_jobs` at once."""

    def __init__(self, settings: Settings, store: JobStore, engine: Engine,
                 notifier: PhaseNotifier) -> None:
        self._settings = settings
        self._store = store
        self._engine = engine
        self._notifier = notifier
        self._phases = JobLifecycle(store, notifier)
        self._reaper = DestructionReaper(store, self.forget)
        self._queue: deque[str] = deque()
        self._running: dict[str, _Running] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._closing = False

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        await self._recover()
        self._reaper.start()
        self._fill()

    async def close(self) -> None:
        """Stop supervising; containers keep running and are re-attached on the next start."""
        self._closing = True
        await self._reaper.close()
        tasks = [r.task for r in self._running.values()] + list(self._background)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- what the job service asks of the runner ---------------------------------------

    def enqueue(self, job_id: str) -> None:
        """Queue a job that is QUEUED in the store; it starts when a slot is free."""
        self._queue.append(job_id)
        self._fill()

    def queue_state(self, job_id: str) -> QueueState:
        try:
            ahead = self._queue.index(job_id)
        except ValueError:
            ahead = len(self._queue)
        return QueueState(ahead, len(self._running), self._settings.limits.max_running_jobs)

    def destruction_set(self, when: float) -> None:
        """A job's destruction time is now `when` (epoch seconds)."""
        self._reaper.scheduled(when)

    async def abort(self, job: Job, message: str | None = None) -> None:
        """Abort a PENDING, QUEUED or EXECUTING job; PhaseConflict for one that has ended.
        Returns once the job is final (a job that ends on its own meanwhile keeps its end)."""
        check_transition(job.phase, Phase.ABORTED)  # refuse before stopping anything
        await self._abort(job, message)

    async def forget(self, job: Job) -> None:
        """Remove every trace of a job: its container, its files and its record. The record
        goes even if the files cannot all be removed (they are logged and left)."""
        if job.phase.is_active or job.id in self._running:
            await self._abort(job)
        if job.container:
            with contextlib.suppress(Exception):
                await self._engine.remove(job.container)
        files = JobFiles.of(self._settings.jobs_dir, job.id)
        try:
            await asyncio.to_thread(files.remove)
        finally:
            self._store.delete(job.id)
            self._notifier.changed(job.id)  # not a phase change: WAITs find the job gone

    # -- queue -------------------------------------------------------------------------

    def _fill(self) -> None:
        limit = self._settings.limits.max_running_jobs
        while self._queue and len(self._running) < limit and not self._closing:
            job_id = self._queue.popleft()
            self._track(job_id, self._run(job_id))

    def _track(self, job_id: str, coro: Coroutine[Any, Any, None],
               handle: str | None = None) -> None:
        task = asyncio.create_task(coro, name=f"job-{job_id}")
        self._running[job_id] = _Running(task, handle)

        def done(_: asyncio.Task[None]) -> None:
            self._running.pop(job_id, None)
            self._fill()

        task.add_done_callback(done)

    async def _abort(self, job: Job, message: str | None = None) -> None:
        if job.id in self._queue:
            self._queue.remove(job.id)
        running = self._running.get(job.id)
        if running is not None:
            running.aborting = True
            if running.handle is not None:
                await self._engine.stop(running.handle)
            # The supervising task records ABORTED when the container has ended.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(running.task)
        elif job.container and job.phase is Phase.EXECUTING:
            await self._engine.stop(job.container)  # an unwatched container: stop it too
        self._phases.end(job.id, Phase.ABORTED, error_message=message)

    # -- running one job -----------------------------------------------------------------

    async def _run(self, job_id: str) -> None:
        job = self._store.get(job_id)
        if job is None or job.phase is not Phase.QUEUED:
            return
        running = self._running[job.id]
        files = JobFiles.of(self._settings.jobs_dir, job.id)
        try:
            check_allowed(self._settings, job.image)
            await self._engine.ensure_image(job.image, partial(self._report, job.id))
            spec = await asyncio.to_thread(prepare, self._settings, job, files)
            if running.aborting:
                self._phases.end(job.id, Phase.ABORTED)
                return
            handle = await self._engine.start(spec)
        except Exception as exc:  # whatever went wrong, the job must not stay QUEUED
            reason = exc if isinstance(exc, EngineError | ValueError | OSError) else repr(exc)
            log.warning("job %s could not start: %s", job.id, reason)
            self._phases.end(job.id, Phase.ERROR,
                             error_message=f"the job could not start: {reason}")
            return
        running.handle = handle
        started = time.time()
        try:
            self._phases.move(job.id, Phase.EXECUTING, start_time=started, container=handle,
                              message=None)
        except (JobNotFound, PhaseConflict) as exc:  # it ended or went while starting
            log.warning("job %s: its container started too late: %s", job.id, exc)
            await self._stop_quietly(handle)
            self._spawn(self._remove_container(handle))
            return
        if running.aborting:
            await self._stop_quietly(handle)
        await self._supervise(job.with_changes(phase=Phase.EXECUTING, start_time=started,
                                               container=handle), handle)

    async def _supervise(self, job: Job, handle: str) -> None:
        try:
            await self._watch(job, handle)
        except asyncio.CancelledError:
            raise  # the service is closing: the container runs on and is re-attached later
        except Exception as exc:
            log.exception("job %s: supervision failed", job.id)
            await self._stop_quietly(handle)
            self._phases.end(job.id, Phase.ERROR,
                             error_message=f"the service lost track of the job: {exc!r}")
            self._spawn(self._remove_container(handle))

    async def _watch(self, job: Job, handle: str) -> None:
        files = JobFiles.of(self._settings.jobs_dir, job.id)
        deadline = None
        if job.execution_duration > 0:
            deadline = (job.start_time or time.time()) + job.execution_duration
        timed_out = False
        reporter = ProgressReporter(partial(self._report, job.id))
        follower = asyncio.create_task(self._engine.follow_output(handle, reporter))
        try:
            remaining = None if deadline is None else max(0.0, deadline - time.time())
            status = await asyncio.wait_for(self._engine.wait(handle), remaining)
        except TimeoutError:
            timed_out = True
            await self._engine.stop(handle)
            status = await self._engine.wait(handle)
        finally:
            reporter.closed = True  # lines still in flight must not outlive the run
            follower.cancel()
        try:
            await self._engine.collect_logs(handle, files.log("stdout"), files.log("stderr"))
        except Exception as exc:  # the results still count; say why the logs are missing
            log.warning("job %s: could not collect logs: %s", job.id, exc)
        results, skipped = await asyncio.to_thread(files.scan_results)
        for name in skipped:
            log.warning("job %s: result %r skipped (not a regular file with a usable name)",
                        job.id, name)
        running = self._running.get(job.id)
        outcome = judge(self._settings, job, status, timed_out=timed_out,
                        aborted=bool(running and running.aborting), stderr=files.log("stderr"))
        self._phases.end(job.id, outcome.phase, error_message=outcome.message,
                         results=results, exit_code=outcome.exit_code)
        self._spawn(self._remove_container(handle))

    def _report(self, job_id: str, message: str) -> None:
        """What is happening to the job now (pulling its image, its progress): jobInfo."""
        self._store.update(job_id, message=message[:500])

    async def _stop_quietly(self, handle: str) -> None:
        try:
            await self._engine.stop(handle)
        except Exception as exc:
            log.warning("could not stop container %s: %s", handle[:12], exc)

    async def _remove_container(self, handle: str) -> None:
        try:
            await self._engine.remove(handle)
        except Exception as exc:
            log.warning("could not remove container %s: %s", handle[:12], exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- recovery ----------------------------------------------------------------------

    async def _recover(self) -> None:
        try:
            found = {f.job_id: f for f in
                     await self._engine.find_jobs(self._settings.service_id)}
        except Exception as exc:
            raise RecoveryError(f"cannot list this service's job containers on the "
                                f"{self._engine.name} engine: {exc}") from exc
        for job in self._store.in_phases([Phase.EXECUTING]):
            container = found.pop(job.id, None)
            if container is None:
                self._phases.end(job.id, Phase.ERROR,
                                 error_message="the job's container was lost while the "
                                               "service was down")
                continue
            log.info("re-attaching job %s (container %s)", job.id, container.handle[:12])
            self._track(job.id, self._supervise(job, container.handle), container.handle)
        for job in self._store.in_phases([Phase.QUEUED]):
            container = found.pop(job.id, None)
            if container is not None:  # started just before a crash: start it again cleanly
                await self._remove_container(container.handle)
            self._queue.append(job.id)
        for leftover in found.values():  # containers of finished or deleted jobs
            await self._remove_container(leftover.handle)
