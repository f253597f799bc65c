"""The job runner: a fair-share queue in front of the engine (uws/queue.py: FIFO within an
owner, the next slot to the owner running fewest), the per-owner running quota, supervision
of running containers, execution-duration and result-quota enforcement, destruction, and
recovery after a restart, and the live tail of running jobs' output (uws/liveoutput.py).

The database is the truth; the in-memory queue and task table are rebuilt from it (and from
the engine's own list of this service's containers) when the service starts. Whatever goes
wrong while a job runs, the job ends in a final phase with a message: it never stays
QUEUED or EXECUTING with nobody watching it, not even when the job file system is full.
Every phase change goes through JobLifecycle; every end records the bytes the job's files
then take (for the owner's storage quota).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from innerspace.apps.manifest import AppManifest
from innerspace.config import Settings
from innerspace.engines.base import Engine, EngineError
from innerspace.errors import InnerspaceError
from innerspace.observability import ServiceMetrics, job_context
from innerspace.uws.disk import disk_problem
from innerspace.uws.errors import JobNotFound, PhaseConflict
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.launch import check_allowed, check_room, prepare, result_quota
from innerspace.uws.lifecycle import JobLifecycle
from innerspace.uws.liveoutput import LiveOutput, OutputBatch
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.outcome import judge
from innerspace.uws.phases import Phase, check_transition
from innerspace.uws.progress import ProgressReporter
from innerspace.uws.queue import FairQueue
from innerspace.uws.reaper import DestructionReaper
from innerspace.uws.resultwatch import ResultWatch
from innerspace.uws.storage import check_storage, reservation
from innerspace.uws.store import Job, JobResult, JobStore

log = logging.getLogger(__name__)
CLOSE_REMOVALS_TIMEOUT = 60.0  # seconds a closing runner waits for removals under way


@dataclass(frozen=True)
class QueueState:
    """Where a job stands before the engine, for its quote: about how many queued jobs
    start before it (the whole queue when it is not queued; see FairQueue.ahead), those
    running, and how many may run."""

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
    owner: str | None
    handle: str | None = None
    aborting: bool = False


class RecoveryError(RuntimeError):
    """The engine could not be asked which job containers exist; starting would misjudge
    running jobs as lost, so the service refuses to start."""


class JobRunner:
    """Starts queued jobs on the engine, at most `limits.max_running_jobs` at once and
    `limits.max_running_per_owner` of one owner, fairly across owners."""

    def __init__(self, settings: Settings, store: JobStore, engine: Engine,
                 notifier: PhaseNotifier, metrics: ServiceMetrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics or ServiceMetrics()
        self._store = store
        self._engine = engine
        self._notifier = notifier
        self._phases = JobLifecycle(store, notifier)
        self._reaper = DestructionReaper(store, self.forget)
        self._queue = FairQueue()
        self._running: dict[str, _Running] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._output = LiveOutput()

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        await self._recover()
        self._reaper.start()
        self._fill()

    async def close(self) -> None:
        """Stop supervising; containers keep running and are re-attached on the next start.
        Removals of ended jobs' containers under way finish first (for up to
        CLOSE_REMOVALS_TIMEOUT), so that a stopped service leaves only the containers of
        jobs still running (and the Swarm engine can then take its stage server down)."""
        self._closing = True
        await self._reaper.close()
        supervisors = [r.task for r in self._running.values()]
        for task in supervisors:
            task.cancel()
        for task in supervisors:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._background:
            await asyncio.wait(list(self._background), timeout=CLOSE_REMOVALS_TIMEOUT)
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- what the job service asks of the runner ---------------------------------------

    def enqueue(self, job: Job) -> None:
        """Queue a job that is QUEUED in the store; it starts when a slot is free and its
        owner's turn has come."""
        self._queue.push(job.id, job.owner)
        self._fill()

    def queue_state(self, job_id: str) -> QueueState:
        ahead = self._queue.ahead(job_id, self._running_by_owner())
        return QueueState(ahead, len(self._running), self._settings.limits.max_running_jobs)

    def queued(self, owner: str | None) -> int:
        """How many of `owner`'s jobs wait in the queue (for the queued quota)."""
        return self._queue.queued(owner)

    def running(self, owner: str | None) -> int:
        """How many of `owner`'s jobs hold a slot (starting or running)."""
        return self._running_by_owner()[owner]

    def live_output(self, job_id: str, since: int = 0, limit: int | None = None
                    ) -> OutputBatch | None:
        """The lines of a running job's output numbered after `since` (see
        uws/liveoutput.py), None when the job has no live tail (not running here)."""
        tail = self._output.get(job_id)
        return None if tail is None else tail.since(since, limit)

    def watch_output(self, job_id: str) -> asyncio.Event | None:
        """The event that a running job's next line of output, or the end of its run,
        sets (take it before reading); None when the job has no live tail."""
        tail = self._output.get(job_id)
        return None if tail is None else tail.watch()

    @property
    def live_tails(self) -> int:
        """How many jobs have a live tail of their output now (for tests and metrics)."""
        return len(self._output)

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
        except OSError as exc:  # e.g. another user's files in a read-only directory
            log.error("job %s: its files could not all be removed: %s", job.id, exc)
        finally:
            self._store.delete(job.id)
            self._notifier.changed(job.id)  # not a phase change: WAITs find the job gone

    # -- queue -------------------------------------------------------------------------

    def _fill(self) -> None:
        limits = self._settings.limits
        while len(self._running) < limits.max_running_jobs and not self._closing:
            picked = self._queue.pop(self._running_by_owner(), limits.running_quota)
            if picked is None:  # nothing queued, or only owners at their running quota
                return
            job_id, owner = picked
            self._track(job_id, owner, self._run(job_id))

    @property
    def queue_length(self) -> int:
        """How many jobs wait in the queue for a slot (for the metrics)."""
        return len(self._queue)

    def _running_by_owner(self) -> Counter[str | None]:
        return Counter(running.owner for running in self._running.values())

    def _track(self, job_id: str, owner: str | None, coro: Coroutine[Any, Any, None],
               handle: str | None = None) -> None:
        # In a context of its own: its log lines name the job, not a request that started it.
        task = asyncio.create_task(coro, name=f"job-{job_id}", context=job_context(job_id))
        self._running[job_id] = _Running(task, owner, handle)

        def done(_: asyncio.Task[None]) -> None:
            self._running.pop(job_id, None)
            self._fill()

        task.add_done_callback(done)

    async def _abort(self, job: Job, message: str | None = None) -> None:
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
        await self._end(job, Phase.ABORTED, error_message=message)

    async def _end(self, job: Job, phase: Phase, **values: Any) -> None:
        """End the job (see JobLifecycle.end), recording the bytes its files now take."""
        stored = await asyncio.to_thread(self._stored_bytes, job)
        if self._phases.end(job.id, phase, stored_bytes=stored, **values):
            self._metrics.job_ended(job.app, phase.value, job.start_time)

    def _stored_bytes(self, job: Job) -> int:
        """What the job's files take; where they cannot be measured, what it had reserved."""
        files = JobFiles.of(self._settings.jobs_dir, job.id)
        try:
            return files.stored_bytes(self._settings.limits.max_result_entries + 100)
        except OSError as exc:
            log.warning("job %s: cannot measure its files: %s", job.id, exc)
            return job.stored_bytes

    # -- running one job -----------------------------------------------------------------

    async def _run(self, job_id: str) -> None:
        job = self._store.get(job_id)
        if job is None or job.phase is not Phase.QUEUED:
            return
        running = self._running[job.id]
        files = JobFiles.of(self._settings.jobs_dir, job.id)
        try:
            check_allowed(self._settings, job.image)
            await asyncio.to_thread(check_room, self._settings)
            await self._engine.ensure_image(job.image, partial(self._report, job.id))
            spec = await asyncio.to_thread(prepare, self._settings, job, files)
            prepared = await asyncio.to_thread(self._stored_bytes, job)
            if running.aborting:
                await self._end(job, Phase.ABORTED)
                return
            self._reserve(job, prepared)
            handle = await self._engine.start(spec)
        except Exception as exc:  # whatever went wrong, the job must not stay QUEUED
            reason = (disk_problem(exc, "preparing its files") if isinstance(exc, OSError)
                      else exc if isinstance(exc, InnerspaceError | ValueError)
                      else repr(exc))
            log.warning("job %s could not start: %s", job.id, reason)
            if isinstance(exc, EngineError):
                self._metrics.engine_error("start")
            await self._end(job, Phase.ERROR, error_message=f"the job could not start: {reason}")
            return
        running.handle = handle
        started = time.time()
        try:
            self._phases.move(job.id, Phase.EXECUTING, start_time=started, container=handle,
                              message=None)
            self._metrics.job_started(job.app, job.queued_at, started)
        except (JobNotFound, PhaseConflict) as exc:  # it ended or went while starting
            log.warning("job %s: its container started too late: %s", job.id, exc)
            await self._stop_quietly(handle)
            self._spawn(self._remove_container(handle))
            return
        if running.aborting:
            await self._stop_quietly(handle)
        await self._supervise(job.with_changes(phase=Phase.EXECUTING, start_time=started,
                                               container=handle), handle)

    def _reserve(self, job: Job, prepared: int) -> None:
        """Refuse to start a job whose owner is at or over the storage quota; else count
        the job at what its run may come to store (its `prepared` files, result quota and
        logs) until it ends. No await comes between the check and the count, so that jobs
        starting together cannot pass the quota together."""
        check_storage(self._settings, self._store, job.owner)
        manifest = AppManifest.model_validate(job.manifest)
        self._store.update(job.id, stored_bytes=prepared + reservation(self._settings, manifest))

    async def _supervise(self, job: Job, handle: str) -> None:
        try:
            await self._watch(job, handle)
        except asyncio.CancelledError:
            raise  # the service is closing: the container runs on and is re-attached later
        except Exception as exc:
            log.exception("job %s: supervision failed", job.id)
            self._metrics.engine_error("supervise")
            await self._stop_quietly(handle)
            await self._end(job, Phase.ERROR,
                            error_message=f"the service lost track of the job: {exc!r}")
            self._spawn(self._remove_container(handle))

    async def _watch(self, job: Job, handle: str) -> None:
        files = JobFiles.of(self._settings.jobs_dir, job.id)
        deadline = None
        if job.execution_duration > 0:
            deadline = (job.start_time or time.time()) + job.execution_duration
        timed_out = False
        reporter = ProgressReporter(partial(self._report, job.id))
        quota = result_quota(self._settings, AppManifest.model_validate(job.manifest))
        watch = ResultWatch(files, quota, self._settings.limits.max_result_entries,
                            partial(self._engine.stop, handle))
        tail = self._output.open(job.id)

        def stdout_line(line: str) -> None:
            reporter(line)
            tail.add("stdout", line)

        follower = asyncio.create_task(self._engine.follow_output(handle, stdout_line))
        errors = asyncio.create_task(self._engine.follow_output(
            handle, partial(tail.add, "stderr"), stderr=True))
        watcher = asyncio.create_task(watch.run())
        try:
            remaining = None if deadline is None else max(0.0, deadline - time.time())
            status = await asyncio.wait_for(self._engine.wait(handle), remaining)
        except TimeoutError:
            timed_out = True
            await self._engine.stop(handle)
            status = await self._engine.wait(handle)
        finally:
            reporter.close()  # the last held-back progress, then nothing from lines in flight
            follower.cancel()
            errors.cancel()
            watcher.cancel()
            self._output.close(job.id)  # the page reads the logs from the job's files now
        trouble = await self._collect_logs(job, handle, files)
        trouble = await self._hold_to_quota(job, files, watch) or trouble
        results: list[JobResult] | None = None
        try:
            results, skipped = await asyncio.to_thread(files.scan_results)
            for name in skipped:
                log.warning("job %s: result %r skipped (not a regular file with a usable "
                            "name)", job.id, name)
        except OSError as exc:
            trouble = trouble or disk_problem(exc, "listing its results")
        running = self._running.get(job.id)
        outcome = judge(self._settings, job, status, timed_out=timed_out,
                        aborted=bool(running and running.aborting), stderr=files.log("stderr"),
                        trouble=trouble)
        await self._end(job, outcome.phase, error_message=outcome.message, results=results,
                        exit_code=outcome.exit_code)
        self._spawn(self._remove_container(handle))

    async def _collect_logs(self, job: Job, handle: str, files: JobFiles) -> str | None:
        """Write the container's logs into the job's files; what went wrong on the job
        file system if anything did (the engine's own failures only lose the logs)."""
        try:
            await self._engine.collect_logs(handle, files.log("stdout"), files.log("stderr"))
        except OSError as exc:
            return disk_problem(exc, "collecting its logs")
        except Exception as exc:  # the results still count; say why the logs are missing
            log.warning("job %s: could not collect logs: %s", job.id, exc)
            self._metrics.engine_error("logs")
        return None

    async def _hold_to_quota(self, job: Job, files: JobFiles, watch: ResultWatch
                             ) -> str | None:
        """After the run: if the results passed their quota (while it ran, or staged back
        at its end), cut them back under it and say so; None when they are within it."""
        try:
            breach = await watch.final_check()
            if breach is None:
                return None
            cut = await asyncio.to_thread(files.cut_results, watch.quota,
                                          self._settings.limits.max_result_entries)
        except OSError as exc:
            return disk_problem(exc, "checking its results against their quota")
        stopped = "; the job was stopped" if watch.stopped else ""
        message = f"{breach}{stopped}; {cut.describe()}"
        log.warning("job %s: %s", job.id, message)
        return message

    def _report(self, job_id: str, message: str) -> None:
        """What is happening to the job now (pulling its image, its progress): jobInfo."""
        self._store.update(job_id, message=message[:500])

    async def _stop_quietly(self, handle: str) -> None:
        try:
            await self._engine.stop(handle)
        except Exception as exc:
            log.warning("could not stop container %s: %s", handle[:12], exc)
            self._metrics.engine_error("stop")

    async def _remove_container(self, handle: str) -> None:
        try:
            await self._engine.remove(handle)
        except Exception as exc:
            log.warning("could not remove container %s: %s", handle[:12], exc)
            self._metrics.engine_error("remove")

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
                await self._end(job, Phase.ERROR, error_message="the job's container was lost "
                                                                "while the service was down")
                continue
            log.info("re-attaching job %s (container %s)", job.id, container.handle[:12])
            self._track(job.id, job.owner, self._supervise(job, container.handle),
                        container.handle)
        for job in self._store.in_phases([Phase.QUEUED]):
            container = found.pop(job.id, None)
            if container is not None:  # started just before a crash: start it again cleanly
                await self._remove_container(container.handle)
            self._queue.push(job.id, job.owner)  # in the order queued: each owner's kept
        for leftover in found.values():  # containers of finished or deleted jobs
            await self._remove_container(leftover.handle)
