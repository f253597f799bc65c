"""The UWS job machinery (store, runner, service) on the fake engine, for unit tests: a real
SQLite job store in a temporary data directory, no Docker. Waiting is on phase changes
(the PhaseNotifier) and engine changes, with generous time-outs that only a failure meets.

Every task started while the harness runs is recorded; leaving the harness fails the test
if one of them ended with an exception (nothing may escape a background task).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Generator
from contextvars import Context
from pathlib import Path
from types import TracebackType
from typing import Any

from innerspace.apps.catalogue import AppImage, pick
from innerspace.apps.manifest import AppManifest, validate_manifest
from innerspace.config import Limits, Settings
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import Phase
from innerspace.uws.runner import JobRunner
from innerspace.uws.service import JobService
from innerspace.uws.store import Job, JobParameter, JobStore, new_job_id
from tests.support.fake_engine import PATIENCE, FakeEngine

IMAGE = "sha256:" + "0" * 64
DEMO: dict[str, Any] = {
    "name": "demo", "version": "1.0", "title": "Demo", "run": {"module": "demo"},
    "resources": {"memory": "512M"},
    "parameters": {"name": {"type": "string", "default": "World"},
                   "count": {"type": "integer"}},
}


def demo_manifest(**changes: Any) -> AppManifest:
    return validate_manifest({**DEMO, **changes})


class DemoCatalogue:
    """An app catalogue holding the demo app only (the AppCatalogue protocol)."""

    def __init__(self, *manifests: AppManifest) -> None:
        self.images = [AppImage(m, IMAGE) for m in manifests or (demo_manifest(),)]

    def apps(self) -> list[AppImage]:
        return list(self.images)

    def cached(self, reference: str) -> AppImage | None:
        return pick(self.images, reference)

    def resolve(self, reference: str) -> AppImage:
        return pick(self.images, reference)

    def refresh(self) -> None:
        pass

    def status(self) -> dict[str, object]:
        return {}


class UWSHarness:
    """`async with UWSHarness(data_dir) as uws:` a started runner and service. A second
    harness on the same data directory and engine is the same service after a restart."""

    def __init__(self, data_dir: Path, engine: FakeEngine | None = None,
                 catalogue: DemoCatalogue | None = None, *,
                 settings: dict[str, Any] | None = None, **limits: Any) -> None:
        self.settings = Settings(data_dir=data_dir, limits=Limits(**limits), **(settings or {}))
        self.settings.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.store = JobStore.open(f"sqlite:///{data_dir / 'jobs.db'}")
        self.engine = engine or FakeEngine()
        self.notifier = PhaseNotifier()
        self.runner = JobRunner(self.settings, self.store, self.engine, self.notifier)
        self.service = JobService(self.settings, self.store, catalogue or DemoCatalogue(),
                                  self.runner, self.notifier)
        self.tasks: list[asyncio.Task[Any]] = []
        self._previous_factory: Any = None

    async def __aenter__(self) -> UWSHarness:
        loop = asyncio.get_running_loop()
        self._previous_factory = loop.get_task_factory()
        loop.set_task_factory(self._record)
        try:
            await self.runner.start()
        except BaseException:
            loop.set_task_factory(self._previous_factory)
            self.store.close()
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        try:
            await self.runner.close()
        finally:
            asyncio.get_running_loop().set_task_factory(self._previous_factory)
            self.store.close()
        if kind is None:
            failed = [(task.get_name(), task.exception()) for task in self.tasks
                      if task.done() and not task.cancelled() and task.exception()]
            assert failed == [], f"background tasks failed: {failed}"

    def _record(self, loop: asyncio.AbstractEventLoop,
                coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
                **options: Any) -> asyncio.Task[Any]:
        context: Context | None = options.pop("context", None)
        task = asyncio.Task(coro, loop=loop, context=context, **options)
        self.tasks.append(task)
        return task

    # -- jobs ------------------------------------------------------------------------------

    def add(self, phase: Phase = Phase.QUEUED, *, execution_duration: int = 600,
            owner: str | None = None, manifest: AppManifest | None = None,
            **values: Any) -> Job:
        """A job as the service stores it, in `phase`, put straight into the store."""
        manifest = manifest or demo_manifest()
        now = time.time()
        fields: dict[str, Any] = {
            "image": IMAGE, "destruction": now + 3600, "queued_at": now,
            "parameters": (JobParameter("name", "Ada"),), **values}
        job = Job(id=new_job_id(), owner=owner, phase=phase, app=manifest.name,
                  app_version=manifest.version, manifest=manifest.model_dump(mode="json"),
                  creation_time=now, execution_duration=execution_duration, **fields)
        return self.store.insert(job)

    def submit(self, **options: Any) -> Job:
        """A QUEUED job, handed to the runner."""
        job = self.add(Phase.QUEUED, **options)
        self.runner.enqueue(job)
        return job

    def job(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        assert job is not None, f"job {job_id} is gone"
        return job

    def files(self, job_id: str) -> JobFiles:
        return JobFiles.of(self.settings.jobs_dir, job_id)

    async def reached(self, job_id: str, *phases: Phase, timeout: float = PATIENCE) -> Job:
        """The job once it is in one of `phases` (woken by its phase changes)."""
        async with asyncio.timeout(timeout):
            while True:
                event = self.notifier.watch(job_id)  # before reading: no change slips by
                job = self.job(job_id)
                if job.phase in phases:
                    return job
                await event.wait()

    async def gone(self, job_id: str, timeout: float = PATIENCE) -> None:
        """Return once the job's record has been deleted."""
        async with asyncio.timeout(timeout):
            while True:
                event = self.notifier.watch(job_id)
                if self.store.get(job_id) is None:
                    return
                await event.wait()

    async def executing(self, job_id: str) -> Job:
        """The job once its container runs and the store says EXECUTING."""
        await self.engine.until(lambda: self.engine.has_container(job_id))
        return await self.reached(job_id, Phase.EXECUTING)
