"""The job runner: a FIFO queue in front of the engine, supervision of running containers,
execution-duration enforcement, destruction of expired jobs, and recovery after a restart.

The database is the truth; the in-memory queue and task table are rebuilt from it (and from
the engine's own list of job containers) when the service starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from innerspace.apps.manifest import AppManifest, ParameterType, template_fields
from innerspace.apps.values import coerce_value
from innerspace.config import Settings
from innerspace.engines.base import (
    CONTAINER_INPUTS,
    CONTAINER_PARAMS,
    CONTAINER_RESULTS,
    SERVICE_LABEL,
    ContainerSpec,
    Engine,
    EngineError,
    ExitStatus,
)
from innerspace.units import format_memory
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import Phase
from innerspace.uws.store import Job, JobStore

log = logging.getLogger(__name__)

STDERR_TAIL = 800  # characters of stderr quoted in an error summary


@dataclass
class _Running:
    task: asyncio.Task[None]
    handle: str | None = None
    aborting: bool = False


class JobRunner:
    """Starts queued jobs on the engine, at most `limits.max_running_jobs` at once."""

    def __init__(self, settings: Settings, store: JobStore, engine: Engine,
                 notifier: PhaseNotifier) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.notifier = notifier
        self._queue: deque[str] = deque()
        self._running: dict[str, _Running] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._destruction_changed = asyncio.Event()
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        await self._recover()
        self._reaper = asyncio.create_task(self._reap_expired(), name="innerspace-reaper")
        self._fill()

    async def close(self) -> None:
        """Stop supervising; containers keep running and are re-attached on the next start."""
        self._closing = True
        tasks = [r.task for r in self._running.values()] + list(self._background)
        if self._reaper:
            tasks.append(self._reaper)
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

    def _track(self, job_id: str, coro: Any, handle: str | None = None) -> None:
        task = asyncio.create_task(coro, name=f"job-{job_id}")
        self._running[job_id] = _Running(task, handle)

        def done(_: asyncio.Task[None]) -> None:
            self._running.pop(job_id, None)
            self._fill()

        task.add_done_callback(done)

    def destruction_changed(self) -> None:
        self._destruction_changed.set()

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
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(running.task)
            return
        self._finish(job.id, Phase.ABORTED, error_message=message)

    async def forget(self, job: Job) -> None:
        """Remove every trace of a job: its container, its files and its record."""
        if job.phase.is_active or job.id in self._running:
            await self.abort(job)
        if job.container:
            with contextlib.suppress(Exception):
                await self.engine.remove(job.container)
        JobFiles(self.settings.jobs_dir / job.id).remove()
        self.store.delete(job.id)
        self.notifier.changed(job.id)

    # -- running one job -----------------------------------------------------------------

    async def _run(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or job.phase is not Phase.QUEUED:
            return
        files = JobFiles(self.settings.jobs_dir / job.id)
        try:
            spec = self.container_spec(job, files)
            handle = await self.engine.start(spec)
        except Exception as exc:  # whatever went wrong, the job must not stay QUEUED
            reason = exc if isinstance(exc, EngineError | ValueError | OSError) else repr(exc)
            log.warning("job %s could not start: %s", job.id, reason)
            self._finish(job.id, Phase.ERROR, error_message=f"the job could not start: {reason}")
            return
        running = self._running[job.id]
        running.handle = handle
        started = time.time()
        self.store.update(job.id, phase=Phase.EXECUTING, start_time=started, container=handle)
        self.notifier.changed(job.id)
        if running.aborting:
            await self.engine.stop(handle)
        await self._supervise(job.with_changes(start_time=started, container=handle), handle)

    async def _supervise(self, job: Job, handle: str) -> None:
        files = JobFiles(self.settings.jobs_dir / job.id)
        deadline = None
        if job.execution_duration > 0:
            deadline = (job.start_time or time.time()) + job.execution_duration
        timed_out = False
        try:
            remaining = None if deadline is None else max(0.0, deadline - time.time())
            status = await asyncio.wait_for(self.engine.wait(handle), remaining)
        except TimeoutError:
            timed_out = True
            await self.engine.stop(handle)
            status = await self.engine.wait(handle)
        try:
            await self.engine.collect_logs(handle, files.log("stdout"), files.log("stderr"))
        except Exception as exc:  # the results still count; say why the logs are missing
            log.warning("job %s: could not collect logs: %s", job.id, exc)
        results = files.scan_results()
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
            memory = format_memory(int(self.container_memory(job)))
            return Phase.ERROR, f"the application ran out of memory (limit {memory})"
        if status.exit_code != 0:
            why = status.error or _tail(files.log("stderr"))
            message = f"the application exited with status {status.exit_code}"
            return Phase.ERROR, f"{message}: {why}" if why else message
        return Phase.COMPLETED, None

    def _finish(self, job_id: str, phase: Phase, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        if phase is Phase.ERROR:
            values.setdefault("error_type", "fatal")
        self.store.update(job_id, phase=phase, end_time=time.time(), **values)
        self.notifier.changed(job_id)

    async def _remove_container(self, handle: str) -> None:
        try:
            await self.engine.remove(handle)
        except Exception as exc:
            log.warning("could not remove container %s: %s", handle[:12], exc)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- the container a job gets -------------------------------------------------------

    def container_memory(self, job: Job) -> int:
        manifest = AppManifest.model_validate(job.manifest)
        return min(manifest.resources.memory_bytes, self.settings.limits.max_memory)

    def container_spec(self, job: Job, files: JobFiles) -> ContainerSpec:
        manifest = AppManifest.model_validate(job.manifest)
        values = typed_parameters(manifest, job)
        files.create()
        files.params.write_text(json.dumps(values, indent=2))
        files.params.chmod(0o644)
        files.open_results_to(self.settings.sandbox.user)
        limits = self.settings.limits
        return ContainerSpec(
            job_id=job.id,
            owner=job.owner,
            image=job.image,
            argv=render_argv(manifest, values),
            env={
                "INNERSPACE_JOB_ID": job.id,
                "INNERSPACE_PARAMS": CONTAINER_PARAMS,
                "INNERSPACE_INPUTS": CONTAINER_INPUTS,
                "INNERSPACE_RESULTS": CONTAINER_RESULTS,
            },
            params_file=files.params,
            inputs_dir=files.inputs,
            results_dir=files.results,
            cores=min(manifest.resources.cores, limits.max_cores),
            memory=min(manifest.resources.memory_bytes, limits.max_memory),
            pids=limits.pids,
            tmp_size=limits.tmp_size,
            user=self.settings.sandbox.user,
            labels={"org.innerspace.app": f"{manifest.name}:{manifest.version}",
                    SERVICE_LABEL: self.settings.service_id},
        )

    # -- recovery and destruction --------------------------------------------------------

    async def _recover(self) -> None:
        try:
            found = {f.job_id: f for f in
                     await self.engine.find_jobs(self.settings.service_id)}
        except Exception as exc:
            log.error("cannot list job containers (%s); running jobs are not re-attached", exc)
            found = {}
        executing = self.store.in_phases([Phase.EXECUTING])
        for job in executing:
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

    async def _reap_expired(self) -> None:
        while True:
            self._destruction_changed.clear()
            now = time.time()
            for job_id in self.store.expired(now):
                job = self.store.get(job_id)
                if job is not None:
                    log.info("destroying job %s (destruction time reached)", job_id)
                    try:
                        await self.forget(job)
                    except Exception as exc:
                        log.error("could not destroy job %s: %s", job_id, exc)
            following = self.store.next_destruction()
            delay = 3600.0 if following is None else min(3600.0, max(0.05, following - now))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._destruction_changed.wait(), delay)


def typed_parameters(manifest: AppManifest, job: Job) -> dict[str, Any]:
    """params.json: every parameter with a value (given or default), typed; files as paths."""
    given = {p.id: p for p in job.parameters}
    values: dict[str, Any] = {}
    for name, param in manifest.parameters.items():
        if name in given:
            item = given[name]
            if param.type is ParameterType.FILE:
                values[name] = f"{CONTAINER_INPUTS}/{item.file}"
            else:
                values[name] = coerce_value(param, item.value)
        elif param.default is not None:
            values[name] = coerce_value(param, param.default)
    return values


def render_argv(manifest: AppManifest, values: dict[str, Any]) -> list[str]:
    """The argv template with values filled in; an element naming a parameter that has no
    value is left out, so optional options vanish cleanly (write them as --opt={opt})."""
    argv: list[str] = []
    for arg in manifest.run.argv_template():
        fields = template_fields(arg)
        if any(name not in values for name in fields):
            continue
        argv.append(arg.format(**{name: _argv_text(values[name]) for name in fields}))
    return argv


def _argv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tail(path: Any) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    tail = text[-STDERR_TAIL:]
    return ("..." + tail) if len(text) > STDERR_TAIL else tail
