"""The job runner: a FIFO queue in front of the engine, supervision of running containers,
execution-duration enforcement, and recovery after a restart.

The database is the truth; the in-memory queue and task table are rebuilt from it (and from
the engine's own list of this service's containers) when the service starts. Whatever goes
wrong while a job runs, the job ends in a final phase with a message: it never stays
QUEUED or EXECUTING with nobody watching it.
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

from innerspace.apps.manifest import AppManifest
from innerspace.config import Settings
from innerspace.engines.base import Engine, EngineError, ExitStatus
from innerspace.runtime import PROGRESS_PREFIX
from innerspace.units import format_memory
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.launch import check_allowed, container_memory, prepare
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import Phase
from innerspace.uws.reaper import DestructionReaper
from innerspace.uws.store import Job, JobStore

log = logging.getLogger(__name__)

STDERR_TAIL = 800  # characters of stderr quoted in an error summary


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
        self.settings = settings
        self.store = store
        self.engine = engine
        self.notifier = notifier
        self.reaper = DestructionReaper(store, self.forget)
        self._queue: deque[str] = deque()
        self._running: dict[str, _Running] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._closing = False

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        await self._recover()
        self.reaper.start()
        self._fill()

    async def close(self) -> None:
        """Stop supervising; containers keep running and are re-attached on the next start."""
        self._closing = True
        await self.reaper.close()
        tasks = [r.task for r in self._running.values()] + list(self._background)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- queue -------------------------------------------------------------------------

    @property
    def max_running(self) -> int:
        return self.settings.limits.max_running_jobs

    def enqueue(self, job_id: str) -> None:
        self._queue.append(job_id)
        self._fill()

    def queue_position(self, job_id: str) -> int | None:
        try:
            return self._queue.index(job_id)
        except ValueError:
            return None

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def running(self) -> int:
        return len(self._running)

    def _fill(self) -> None:
        while self._queue and len(self._running) < self.max_running and not self._closing:
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

    # -- abort and delete ----------------------------------------------------------------

    async def abort(self, job: Job, message: str | None = None) -> None:
        """Abort a PENDING, QUEUED or EXECUTING job."""
        if job.id in self._queue:
            self._queue.remove(job.id)
        running = self._running.get(job.id)
        if running is not None:
            running.aborting = True
            if running.handle is not None:
                await self.engine.stop(running.handle)
            # The supervising task records ABORTED when the container has ended.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(running.task)
            if self.store.get(job.id) is not None and not self._is_final(job.id):
                self._finish(job.id, Phase.ABORTED, error_message=message)
            return
        if job.container and job.phase is Phase.EXECUTING:
            await self.engine.stop(job.container)  # an unwatched container: stop it too
        self._finish(job.id, Phase.ABORTED, error_message=message)

    def _is_final(self, job_id: str) -> bool:
        job = self.store.get(job_id)
        return job is None or job.phase.is_final

    async def forget(self, job: Job) -> None:
        """Remove every trace of a job: its container, its files and its record. The record
        goes even if the files cannot all be removed (they are logged and left)."""
        if job.phase.is_active or job.id in self._running:
            await self.abort(job)
        if job.container:
            with contextlib.suppress(Exception):
                await self.engine.remove(job.container)
        files = JobFiles(self.settings.jobs_dir / job.id)
        try:
            await asyncio.to_thread(files.remove)
        finally:
            self.store.delete(job.id)
            self.notifier.changed(job.id)

    # -- running one job -----------------------------------------------------------------

    async def _run(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or job.phase is not Phase.QUEUED:
            return
        running = self._running[job.id]
        files = JobFiles(self.settings.jobs_dir / job.id)
        try:
            check_allowed(self.settings, job.image)
            await self.engine.ensure_image(job.image, partial(self._report, job.id))
            spec = await asyncio.to_thread(prepare, self.settings, job, files)
            if running.aborting:
                self._finish(job.id, Phase.ABORTED)
                return
            handle = await self.engine.start(spec)
        except Exception as exc:  # whatever went wrong, the job must not stay QUEUED
            reason = exc if isinstance(exc, EngineError | ValueError | OSError) else repr(exc)
            log.warning("job %s could not start: %s", job.id, reason)
            self._finish(job.id, Phase.ERROR, error_message=f"the job could not start: {reason}")
            return
        running.handle = handle
        started = time.time()
        self.store.update(job.id, phase=Phase.EXECUTING, start_time=started, container=handle,
                          message=None)
        self.notifier.changed(job.id)
        if running.aborting:
            await self._stop_quietly(handle)
        await self._supervise(job.with_changes(start_time=started, container=handle), handle)

    async def _supervise(self, job: Job, handle: str) -> None:
        try:
            await self._watch(job, handle)
        except asyncio.CancelledError:
            raise  # the service is closing: the container runs on and is re-attached later
        except Exception as exc:
            log.exception("job %s: supervision failed", job.id)
            await self._stop_quietly(handle)
            self._finish(job.id, Phase.ERROR,
                         error_message=f"the service lost track of the job: {exc!r}")
            self._spawn(self._remove_container(handle))

    async def _watch(self, job: Job, handle: str) -> None:
        files = JobFiles(self.settings.jobs_dir / job.id)
        deadline = None
        if job.execution_duration > 0:
            deadline = (job.start_time or time.time()) + job.execution_duration
        timed_out = False
        reporter = ProgressReporter(self, job.id)
        follower = asyncio.create_task(self.engine.follow_output(handle, reporter))
        try:
            remaining = None if deadline is None else max(0.0, deadline - time.time())
            status = await asyncio.wait_for(self.engine.wait(handle), remaining)
        except TimeoutError:
            timed_out = True
            await self.engine.stop(handle)
            status = await self.engine.wait(handle)
        finally:
            reporter.closed = True  # lines still in flight must not outlive the run
            follower.cancel()
        try:
            await self.engine.collect_logs(handle, files.log("stdout"), files.log("stderr"))
        except Exception as exc:  # the results still count; say why the logs are missing
            log.warning("job %s: could not collect logs: %s", job.id, exc)
        results, skipped = await asyncio.to_thread(files.scan_results)
        for name in skipped:
            log.warning("job %s: result %r skipped (not a regular file with a usable name)",
                        job.id, name)
        running = self._running.get(job.id)
        phase, message = self._outcome(job, status, timed_out,
                                       aborted=bool(running and running.aborting), files=files)
        self._finish(job.id, phase, error_message=message, results=results,
                     exit_code=status.exit_code)
        self._spawn(self._remove_container(handle))

    def _outcome(self, job: Job, status: ExitStatus, timed_out: bool, aborted: bool,
                 files: JobFiles) -> tuple[Phase, str | None]:
        if aborted:
            return Phase.ABORTED, None
        if timed_out:
            return Phase.ERROR, (f"the job exceeded its execution duration of "
                                 f"{job.execution_duration} s and was stopped")
        if status.oom_killed:
            memory = container_memory(self.settings, AppManifest.model_validate(job.manifest))
            return Phase.ERROR, f"the application ran out of memory (limit {format_memory(memory)})"
        if status.exit_code < 0 and status.error:  # the engine, not the app, failed
            return Phase.ERROR, f"the job failed: {status.error}"
        if status.exit_code != 0:
            why = status.error or _tail(files.log("stderr"))
            message = f"the application exited with status {status.exit_code}"
            return Phase.ERROR, f"{message}: {why}" if why else message
        return Phase.COMPLETED, None

    def _report(self, job_id: str, message: str) -> None:
        """A progress message while the job waits for its container (shown in jobInfo)."""
        self.store.update(job_id, message=message[:500])

    def _finish(self, job_id: str, phase: Phase, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        values["message"] = None
        if phase is Phase.ERROR:
            values.setdefault("error_type", "fatal")
        self.store.update(job_id, phase=phase, end_time=time.time(), **values)
        self.notifier.changed(job_id)

    async def _stop_quietly(self, handle: str) -> None:
        try:
            await self.engine.stop(handle)
        except Exception as exc:
            log.warning("could not stop container %s: %s", handle[:12], exc)

    async def _remove_container(self, handle: str) -> None:
        try:
            await self.engine.remove(handle)
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
                     await self.engine.find_jobs(self.settings.service_id)}
        except Exception as exc:
            raise RecoveryError(f"cannot list this service's job containers on the "
                                f"{self.engine.name} engine: {exc}") from exc
        for job in self.store.in_phases([Phase.EXECUTING]):
            container = found.pop(job.id, None)
            if container is None:
                self._finish(job.id, Phase.ERROR,
                             error_message="the job's container was lost while the service "
                                           "was down")
                continue
            log.info("re-attaching job %s (container %s)", job.id, container.handle[:12])
            self._track(job.id, self._supervise(job, container.handle), container.handle)
        for job in self.store.in_phases([Phase.QUEUED]):
            container = found.pop(job.id, None)
            if container is not None:  # started just before a crash: start it again cleanly
                await self._remove_container(container.handle)
            self._queue.append(job.id)
        for leftover in found.values():  # containers of finished or deleted jobs
            await self._remove_container(leftover.handle)


class ProgressReporter:
    """Turns the app's progress lines (innerspace.runtime.progress) into the job's message,
    shown in its jobInfo while it runs; at most one database write a second."""

    def __init__(self, runner: JobRunner, job_id: str) -> None:
        self._runner = runner
        self._job_id = job_id
        self._last = 0.0
        self.closed = False

    def __call__(self, line: str) -> None:
        if self.closed or not line.startswith(PROGRESS_PREFIX):
            return
        fields = line[len(PROGRESS_PREFIX):].split(maxsplit=1)
        if not fields:
            return
        fraction, text = fields[0], (fields[1] if len(fields) > 1 else "")
        try:
            percent = f"{float(fraction):.0%}"
        except ValueError:
            percent = ""
        message = ": ".join(p for p in (percent, text.strip()) if p)
        now = time.monotonic()
        if message and (now - self._last >= 1.0 or fraction.startswith("1")):
            self._last = now
            self._runner._report(self._job_id, f"progress {message}")


def _tail(path: Any) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    tail = text[-STDERR_TAIL:]
    return ("..." + tail) if len(text) > STDERR_TAIL else tail
