"""The UWS job service: every operation on jobs, independent of HTTP.

Route handlers translate requests into calls here and results into documents; this layer
checks input against the app's manifest, keeps jobs owner-private, and hands running to the
runner. Bad input raises an InnerspaceError naming the problem, before anything is stored.

Every operation takes the caller (a `Requester`: owner, groups, admin). A job is its owner's:
another caller finds no such job (404, as for one that does not exist), except the service's
administrators, who read, list, abort and delete any job; changing a job (its parameters,
duration, destruction, running it) stays its owner's alone (403 for an administrator).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from pathlib import Path

from innerspace.apps.access import Requester, check_app_access
from innerspace.apps.catalogue import AppCatalogue, AppImage, UnknownAppError
from innerspace.apps.manifest import AppManifest
from innerspace.config import Settings
from innerspace.errors import BadRequest, Forbidden, NotFound
from innerspace.inner.binding import missing as missing_inner_apis
from innerspace.observability import ServiceMetrics
from innerspace.uws.errors import JobNotFound, PhaseConflict, QueuedQuotaExceeded
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.lifecycle import JobLifecycle
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.parameters import check_parameters, require_complete, store_uploads
from innerspace.uws.phases import FINAL, Phase, check_transition
from innerspace.uws.request import JobRequest, Upload, list_filter, parse_time, run_id
from innerspace.uws.runner import JobRunner
from innerspace.uws.storage import check_storage
from innerspace.uws.store import Job, JobRef, JobStore, new_job_id
from innerspace.uws.usage import Usage, usage_of
from innerspace.uws.waiting import wait_for_change

_JOB_ID = re.compile(r"^[a-z0-9]{16}$")
EVERY_OWNER = "*"  # the job list's OWNER value for everyone's jobs (administrators)


class JobService:
    """All UWS operations, each for the caller it is given."""

    def __init__(self, settings: Settings, store: JobStore, catalogue: AppCatalogue,
                 runner: JobRunner, notifier: PhaseNotifier,
                 metrics: ServiceMetrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics or ServiceMetrics()
        self._store = store
        self._catalogue = catalogue
        self._runner = runner
        self._notifier = notifier
        self._phases = JobLifecycle(store, notifier)

    # -- reading -----------------------------------------------------------------------

    def get(self, caller: Requester, job_id: str) -> Job:
        """The job, if the caller may see it (its owner, or an administrator)."""
        if not _JOB_ID.match(job_id):
            raise JobNotFound(job_id)
        job = self._store.get(job_id)
        if job is None or (job.owner != caller.owner and not caller.admin):
            raise JobNotFound(job_id)  # another owner's job is indistinguishable from none
        return job

    def _own(self, caller: Requester, job_id: str, change: str) -> Job:
        """The job, if the caller may `change` it: its owner only (an administrator who
        sees another owner's job is told why not)."""
        job = self.get(caller, job_id)
        if job.owner != caller.owner:
            raise Forbidden(f"only the owner of job {job.id} may change {change}; "
                            f"administrators may read, abort and delete it")
        return job

    def list_jobs(self, caller: Requester, phases: list[str], after: str | None,
                  last: str | None, owner: str | None = None) -> list[JobRef]:
        """The caller's jobs, filtered as UWS 1.1 says; `owner` (OWNER=) names whose jobs
        an administrator lists instead, `*` for everyone's."""
        filters = list_filter(phases, after, last)
        if owner is None or owner == caller.owner:
            return self._store.list_refs(caller.owner, filters)
        if not caller.admin:
            raise Forbidden(f"OWNER={owner!r}: only administrators list other owners' jobs "
                            f"(leave OWNER out for your own)")
        return self._store.list_refs(owner, filters, every_owner=owner == EVERY_OWNER)

    def usage(self, caller: Requester, owner: str | None = None) -> Usage:
        """The caller's usage and limits; an administrator may ask for another `owner`'s."""
        if owner is None or owner == caller.owner:
            return usage_of(self._settings, self._store, self._runner, caller.owner)
        if not caller.admin:
            raise Forbidden(f"owner={owner!r}: only administrators see other owners' usage")
        return usage_of(self._settings, self._store, self._runner, owner)

    async def wait(self, caller: Requester, job_id: str, seconds: str,
                   phase: str | None) -> Job:
        """UWS 1.1 blocking: return when the job leaves its phase (or `phase`), or on time-out
        (waiting.py)."""
        return await wait_for_change(self._notifier, lambda: self.get(caller, job_id), job_id,
                                     seconds, phase, self._settings.limits.max_wait)

    def quote(self, job: Job) -> float | None:
        """Expected completion time: now + queue wait + typical run time of this app."""
        if job.phase in FINAL:
            return None
        recent = self._store.recent_durations(job.app)
        typical = statistics.median(recent) if recent else min(
            job.execution_duration or 60, 60)
        now = time.time()
        if job.phase is Phase.EXECUTING and job.start_time is not None:
            return max(job.start_time + typical, now + 1)
        return now + self._runner.queue_state(job.id).rounds * typical

    # -- creating ------------------------------------------------------------------------

    async def resolve(self, reference: str) -> AppImage:
        """The app image for `reference`; the catalogue's I/O (if any) runs off the loop."""
        try:
            cached = self._catalogue.cached(reference)
            if cached is not None:
                return cached
            return await asyncio.to_thread(self._catalogue.resolve, reference)
        except UnknownAppError as exc:
            raise BadRequest(str(exc)) from None

    async def create(self, caller: Requester, request: JobRequest) -> Job:
        if not request.app:
            raise BadRequest("the reserved parameter 'app' (name or name:version) is missing")
        owner = caller.owner
        app = await self.resolve(request.app)
        manifest = app.manifest
        check_app_access(self._settings, manifest, caller)
        lacking = missing_inner_apis(self._settings.datacentre, manifest)
        if lacking:
            raise BadRequest(f"app {manifest.name} needs inner APIs this data centre does "
                             f"not offer: {', '.join(lacking)}")
        run = self._run_request(request.phase)
        now = time.time()
        job_id = new_job_id()
        files = self._files(job_id)
        parameters, uploads = check_parameters(manifest, request.parameters, existing=())
        require_complete(manifest, parameters)
        check_storage(self._settings, self._store, owner)
        if run:
            self._check_queue_room(owner)  # before storing uploads; once more below
        job = Job(
            id=job_id, owner=owner, run_id=run_id(request.run_id),
            phase=Phase.QUEUED if run else Phase.PENDING, queued_at=now if run else None,
            app=manifest.name, app_version=manifest.version, image=app.image,
            manifest=app.manifest_json, creation_time=now,
            execution_duration=self._duration(
                request.execution_duration, manifest.resources.max_execution_time),
            destruction=self._destruction(request.destruction, now, now),
            parameters=tuple(parameters),
        )
        try:
            if uploads:
                await asyncio.to_thread(store_uploads, files, uploads,
                                        self._settings.limits.max_upload_size)
                stored = await asyncio.to_thread(self._stored_bytes, files)
                job = job.with_changes(stored_bytes=stored)
            if run:  # no await from here to the queue: creations together cannot pass it
                self._check_queue_room(owner)
            job = self._store.insert(job)
        except BaseException:
            await asyncio.to_thread(files.remove)  # never a half-made job
            raise
        self._runner.destruction_set(job.destruction)
        self._metrics.job_created(job.app)
        if run:
            self._runner.enqueue(job)
        return job

    def _check_queue_room(self, owner: str | None) -> None:
        """Refuse (429) a run for an owner with `max_queued_per_owner` jobs queued."""
        quota = self._settings.limits.queued_quota
        if quota is None:
            return
        queued = self._runner.queued(owner)
        if queued >= quota:
            who = f"{owner} already has" if owner is not None else \
                "anonymous callers (who share one quota) already have"
            raise QueuedQuotaExceeded(
                f"queued-job quota reached: {who} {queued} job{'s' if queued != 1 else ''} "
                f"waiting to run, the most allowed (limits.max_queued_per_owner = {quota}); "
                f"run this job once some have started, or abort some")

    @staticmethod
    def _run_request(phase: str | None) -> bool:
        if phase is None:
            return False
        if phase.strip().upper() == "RUN":
            return True
        raise BadRequest(f"PHASE={phase!r} is not allowed when creating a job (only RUN)")

    def _duration(self, text: str | None, default: int) -> int:
        limit = self._settings.limits.max_execution_duration
        if text is None:
            return min(default, limit)
        try:
            seconds = int(text.strip())
        except ValueError:
            raise BadRequest(f"EXECUTIONDURATION must be an integer number of seconds, "
                             f"got {text!r}") from None
        if seconds < 0:
            raise BadRequest(f"EXECUTIONDURATION must not be negative, got {seconds}")
        # 0 asks for "unlimited"; the server grants its maximum (UWS lets it choose).
        return limit if seconds == 0 else min(seconds, limit)

    def _destruction(self, text: str | None, now: float, created: float) -> float:
        """The destruction time asked for, in the future and at most `max_destruction`
        after the job's creation (the server may shorten it, as UWS allows)."""
        latest = created + self._settings.limits.max_destruction
        if text is None:
            return min(now + self._settings.limits.default_destruction, latest)
        when = parse_time(text)
        if when <= now:
            raise BadRequest(f"DESTRUCTION {text!r} is in the past")
        return min(when, latest)

    def _files(self, job_id: str) -> JobFiles:
        return JobFiles.of(self._settings.jobs_dir, job_id)

    def _stored_bytes(self, files: JobFiles) -> int:
        """What a job's files take before it runs (its uploads), as its end measures them."""
        return files.stored_bytes(self._settings.limits.max_result_entries)

    # -- changing ------------------------------------------------------------------------

    async def update_parameters(self, caller: Requester, job_id: str,
                                fields: list[tuple[str, str | Upload]]) -> Job:
        """Change a PENDING job's parameters (and RUNID, EXECUTIONDURATION, DESTRUCTION,
        PHASE=RUN) all at once: on any error nothing changes."""
        job = self._own(caller, job_id, "its parameters")
        owner = job.owner
        if job.phase is not Phase.PENDING:
            raise PhaseConflict(f"parameters can only be changed while the job is PENDING; "
                                f"it is {job.phase}")
        request = JobRequest.from_fields(fields)
        # `app` may come back as the parameter list shows it (a client sending the whole
        # list again), but never to change the app.
        if request.app is not None and request.app.strip() not in (
                job.app_reference, f"{job.app}:{job.app_version}"):
            raise BadRequest(f"the app of an existing job cannot be changed (it is "
                             f"{job.app_reference})")
        run = False
        if request.phase is not None:
            if request.phase.strip().upper() != "RUN":
                raise BadRequest(f"only PHASE=RUN may come with parameters, got "
                                 f"{request.phase!r}")
            run = True
        manifest = AppManifest.model_validate(job.manifest)
        parameters, uploads = check_parameters(manifest, request.parameters, job.parameters)
        changes: dict[str, object] = {"parameters": parameters}
        if request.run_id is not None:
            changes["run_id"] = run_id(request.run_id)
        if request.execution_duration is not None:
            changes["execution_duration"] = self._duration(request.execution_duration, 0)
        destruction = None
        if request.destruction is not None:
            destruction = self._destruction(request.destruction, time.time(),
                                            job.creation_time)
            changes["destruction"] = destruction
        if run:
            require_complete(manifest, parameters)
            check_app_access(self._settings, manifest, caller)
            check_storage(self._settings, self._store, owner)
            self._check_queue_room(owner)
        files = self._files(job.id)
        if uploads:
            await asyncio.to_thread(store_uploads, files, uploads,
                                    self._settings.limits.max_upload_size)
        self._store.update(job.id, **changes)
        replaced = {p.file for p in job.parameters if p.file} - {
            p.file for p in parameters if p.file}
        for name in replaced:
            (files.inputs / name).unlink(missing_ok=True)
        if uploads or replaced:
            stored = await asyncio.to_thread(self._stored_bytes, files)
            self._store.update(job.id, stored_bytes=stored)
        if destruction is not None:
            self._runner.destruction_set(destruction)
        return self._queue(self.get(caller, job.id)) if run else self.get(caller, job.id)

    def run(self, caller: Requester, job_id: str) -> Job:
        """PHASE=RUN: queue a PENDING (or HELD) job; a no-op for one already on its way.
        An owner at or over the storage or queued quota gets no new run."""
        job = self._own(caller, job_id, "its phase to RUN")
        if job.phase in (Phase.QUEUED, Phase.EXECUTING):
            return job
        check_transition(job.phase, Phase.QUEUED)  # a finished job: 409 before anything else
        manifest = AppManifest.model_validate(job.manifest)
        require_complete(manifest, list(job.parameters))
        check_app_access(self._settings, manifest, caller)  # membership may have ended
        check_storage(self._settings, self._store, job.owner)
        self._check_queue_room(job.owner)
        return self._queue(job)

    def _queue(self, job: Job) -> Job:
        """Queue a job that has passed every check (the runner checks the storage quota
        once more when the job starts); a no-op for one already on its way."""
        if job.phase in (Phase.QUEUED, Phase.EXECUTING):
            return job
        self._phases.move(job.id, Phase.QUEUED, queued_at=time.time())
        self._runner.enqueue(job)
        return self._store_get(job.id)

    def _store_get(self, job_id: str) -> Job:
        job = self._store.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def abort(self, caller: Requester, job_id: str) -> Job:
        job = self.get(caller, job_id)
        await self._runner.abort(job)
        return self.get(caller, job_id)

    def set_execution_duration(self, caller: Requester, job_id: str, text: str) -> Job:
        job = self._own(caller, job_id, "its execution duration")
        if job.phase is not Phase.PENDING:
            raise PhaseConflict(f"the execution duration can only be changed while the job "
                                f"is PENDING; it is {job.phase}")
        self._store.update(job.id, execution_duration=self._duration(text, 0))
        return self.get(caller, job_id)

    def set_destruction(self, caller: Requester, job_id: str, text: str) -> Job:
        job = self._own(caller, job_id, "its destruction time")
        when = self._destruction(text, time.time(), job.creation_time)
        self._store.update(job.id, destruction=when)
        self._runner.destruction_set(when)
        return self.get(caller, job_id)

    async def delete(self, caller: Requester, job_id: str) -> None:
        job = self.get(caller, job_id)
        await self._runner.forget(job)

    # -- files ---------------------------------------------------------------------------

    def result_file(self, job: Job, result_id: str) -> tuple[Path, str]:
        for result in job.results:
            if result.id == result_id:
                path = self._files(job.id).result_path(result_id)
                if path is not None:
                    return path, result.mime_type
        raise NotFound(f"job {job.id} has no result {result_id!r}")

    def input_file(self, job: Job, name: str) -> Path:
        for param in job.parameters:
            if param.id == name and param.file:
                path = self._files(job.id).inputs / param.file
                if path.is_file():
                    return path
        raise NotFound(f"job {job.id} has no uploaded file {name!r}")


__all__ = ["JobService"]
