"""The UWS job service: every operation on jobs, independent of HTTP.

Route handlers translate requests into calls here and results into documents; this layer
checks input against the app's manifest, keeps jobs owner-private, and hands running to the
runner. Bad input raises a UWSError subclass naming the problem, before anything is stored.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from innerspace.apps.catalogue import AppCatalogue, AppImage, UnknownAppError
from innerspace.apps.manifest import RESERVED_PARAMETERS, AppManifest, ParameterType
from innerspace.apps.values import ParameterValueError, coerce_value
from innerspace.config import Settings
from innerspace.inner.binding import missing as missing_inner_apis
from innerspace.uws.errors import (
    BadRequest,
    JobNotFound,
    NotFoundError,
    PhaseConflict,
    TooLarge,
)
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import FINAL, Phase, check_transition
from innerspace.uws.runner import JobRunner
from innerspace.uws.store import Job, JobParameter, JobRef, JobStore, ListFilter, new_job_id

_COPY_CHUNK = 1024 * 1024
_JOB_ID = re.compile(r"^[a-z0-9]{16}$")
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


@dataclass
class Upload:
    """An uploaded file as received: its name as the client gave it, and a readable stream."""

    filename: str | None
    stream: BinaryIO


@dataclass
class JobRequest:
    """The fields of a UWS request, reserved ones split from the app's parameters."""

    app: str | None = None
    phase: str | None = None
    run_id: str | None = None
    execution_duration: str | None = None
    destruction: str | None = None
    parameters: list[tuple[str, str | Upload]] = field(default_factory=list)

    @classmethod
    def from_fields(cls, fields: list[tuple[str, str | Upload]]) -> JobRequest:
        request = cls()
        seen: set[str] = set()
        for name, value in fields:
            key = name.lower()
            if key in ("app", "phase", "runid", "executionduration", "destruction"):
                if isinstance(value, Upload):
                    raise BadRequest(f"{name} must be a plain value, not a file")
                if key in seen:
                    raise BadRequest(f"{name} is given more than once")
                seen.add(key)
                attribute = {"runid": "run_id", "executionduration": "execution_duration"}
                setattr(request, attribute.get(key, key), value)
            else:
                request.parameters.append((name, value))
        return request


def parse_time(text: str, name: str = "DESTRUCTION") -> float:
    """An ISO 8601 instant; one without a time zone is taken as UTC."""
    value = text.strip()
    if not value:
        raise BadRequest(f"{name} is empty; give an ISO 8601 time such as 2030-01-01T00:00:00Z")
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise BadRequest(f"{name} {text!r} is not an ISO 8601 time "
                         "(e.g. 2030-01-01T00:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class JobService:
    """All UWS operations, for one authenticated (or anonymous) owner at a time."""

    def __init__(self, settings: Settings, store: JobStore, catalogue: AppCatalogue,
                 runner: JobRunner, notifier: PhaseNotifier) -> None:
        self.settings = settings
        self.store = store
        self.catalogue = catalogue
        self.runner = runner
        self.notifier = notifier

    # -- reading -----------------------------------------------------------------------

    def get(self, owner: str | None, job_id: str) -> Job:
        if not _JOB_ID.match(job_id):
            raise JobNotFound(job_id)
        job = self.store.get(job_id)
        if job is None or job.owner != owner:
            raise JobNotFound(job_id)  # another owner's job is indistinguishable from none
        return job

    def list(self, owner: str | None, phases: list[str], after: str | None,
             last: str | None) -> list[JobRef]:
        filters = ListFilter()
        for phase in phases:
            try:
                filters.phases.append(Phase(phase.strip().upper()))
            except ValueError:
                raise BadRequest(f"PHASE {phase!r} is not a UWS phase; one of "
                                 f"{', '.join(p.value for p in Phase)}") from None
        if after is not None:
            filters.after = parse_time(after, "AFTER")
        if last is not None:
            count = _positive_int(last)
            if count is None:
                raise BadRequest(f"LAST must be a positive integer, got {last!r}")
            filters.last = min(count, 1_000_000)
        return self.store.list_refs(owner, filters)

    async def wait(self, owner: str | None, job_id: str, seconds: str,
                   phase: str | None) -> Job:
        """UWS 1.1 blocking: return when the job leaves its phase (or `phase`), or on time-out.

        The wake-up comes from the phase change itself (PhaseNotifier), never from polling.
        """
        try:
            wait = int(seconds)
        except ValueError:
            raise BadRequest(f"WAIT must be an integer number of seconds, got {seconds!r}"
                             ) from None
        limit = self.settings.limits.max_wait
        wait = limit if wait < 0 else min(wait, limit)
        awaited = None
        if phase is not None:
            try:
                awaited = Phase(phase.strip().upper())
            except ValueError:
                raise BadRequest(f"PHASE {phase!r} is not a UWS phase") from None
        # Reading the job and taking its event happen with no await in between, so no
        # change can slip through; only existing, visible jobs get an event.
        job = self.get(owner, job_id)
        event = self.notifier.watch(job_id)
        start_phase = job.phase
        # Only PENDING, QUEUED and EXECUTING block (UWS 1.1 §2.2.1.1); with PHASE, only when
        # the job is still in that phase.
        blocking = {Phase.PENDING, Phase.QUEUED, Phase.EXECUTING}
        if wait == 0 or start_phase not in blocking or (awaited and awaited != start_phase):
            return job
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await self.notifier.wait(event, remaining):
                return self.get(owner, job_id)
            job = self.get(owner, job_id)
            event = self.notifier.watch(job_id)
            if job.phase != start_phase:
                return job

    def quote(self, job: Job) -> float | None:
        """Expected completion time: now + queue wait + typical run time of this app."""
        if job.phase in FINAL:
            return None
        recent = self.store.recent_durations(job.app)
        typical = statistics.median(recent) if recent else min(
            job.execution_duration or 60, 60)
        now = time.time()
        if job.phase is Phase.EXECUTING and job.start_time is not None:
            return max(job.start_time + typical, now + 1)
        position = self.runner.queue_position(job.id)
        if position is None:
            position = self.runner.queued
        busy = self.runner.running
        rounds = (position + busy) // self.runner.max_running + 1
        return now + rounds * typical

    # -- creating ------------------------------------------------------------------------

    async def resolve(self, reference: str) -> AppImage:
        """The app image for `reference`; the catalogue's I/O (if any) runs off the loop."""
        try:
            cached = self.catalogue.cached(reference)
            if cached is not None:
                return cached
            return await asyncio.to_thread(self.catalogue.resolve, reference)
        except UnknownAppError as exc:
            raise BadRequest(str(exc)) from None

    async def create(self, owner: str | None, request: JobRequest) -> Job:
        if not request.app:
            raise BadRequest("the reserved parameter 'app' (name or name:version) is missing")
        app = await self.resolve(request.app)
        manifest = app.manifest
        lacking = missing_inner_apis(self.settings.datacentre, manifest)
        if lacking:
            raise BadRequest(f"app {manifest.name} needs inner APIs this data centre does "
                             f"not offer: {', '.join(lacking)}")
        run = self._run_request(request.phase)
        now = time.time()
        job_id = new_job_id()
        files = JobFiles(self.settings.jobs_dir / job_id)
        parameters, uploads = self._parameters(manifest, request.parameters, existing=())
        self._require_complete(manifest, parameters)
        job = Job(
            id=job_id, owner=owner, run_id=_run_id(request.run_id),
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
                await asyncio.to_thread(self._store_uploads, files, uploads)
            job = self.store.insert(job)
        except BaseException:
            await asyncio.to_thread(files.remove)  # never a half-made job
            raise
        self.runner.reaper.scheduled(job.destruction)
        if run:
            self.runner.enqueue(job.id)
        return job

    @staticmethod
    def _run_request(phase: str | None) -> bool:
        if phase is None:
            return False
        if phase.strip().upper() == "RUN":
            return True
        raise BadRequest(f"PHASE={phase!r} is not allowed when creating a job (only RUN)")

    def _duration(self, text: str | None, default: int) -> int:
        limit = self.settings.limits.max_execution_duration
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
        latest = created + self.settings.limits.max_destruction
        if text is None:
            return min(now + self.settings.limits.default_destruction, latest)
        when = parse_time(text)
        if when <= now:
            raise BadRequest(f"DESTRUCTION {text!r} is in the past")
        return min(when, latest)

    def _parameters(self, manifest: AppManifest, given: list[tuple[str, str | Upload]],
                    existing: tuple[JobParameter, ...]
                    ) -> tuple[list[JobParameter], list[tuple[str, Upload, str]]]:
        """Check every given value; return the job's parameters and the uploads to store
        (key, upload, stored name). Nothing is written here."""
        result: dict[str, JobParameter] = {p.id: p for p in existing}
        uploads: list[tuple[str, Upload, str]] = []
        seen: set[str] = set()
        for name, value in given:
            if name.lower() in RESERVED_PARAMETERS:
                raise BadRequest(f"{name} cannot be set here")
            found = manifest.parameter(name)
            if found is None:
                known = ", ".join(manifest.parameters) or "none"
                raise BadRequest(f"unknown parameter {name!r} for app {manifest.name} "
                                 f"(its parameters: {known})")
            key, param = found
            if key in seen:
                raise BadRequest(f"parameter {key!r} is given more than once")
            seen.add(key)
            if param.type is ParameterType.FILE:
                if not isinstance(value, Upload):
                    raise BadRequest(f"parameter {key!r} is a file: upload it as "
                                     "multipart/form-data")
                suffix = Path(value.filename or "").suffix
                stored = f"{key}-{secrets.token_hex(4)}" + (
                    suffix if _SAFE_SUFFIX.match(suffix) else "")
                uploads.append((key, value, stored))
                result[key] = JobParameter(key, value.filename or key, True, stored)
                continue
            if isinstance(value, Upload):
                raise BadRequest(f"parameter {key!r} takes a value, not a file")
            try:
                coerce_value(param, value)
            except ParameterValueError as exc:
                raise BadRequest(f"parameter {key!r} {exc}") from None
            result[key] = JobParameter(key, value)
        return list(result.values()), uploads

    def _store_uploads(self, files: JobFiles, uploads: list[tuple[str, Upload, str]]) -> None:
        """Copy the uploads into the job's inputs, within the per-request size limit."""
        files.create()
        limit = self.settings.limits.max_upload_size
        written = 0
        for key, upload, stored in uploads:
            target = files.inputs / stored
            try:
                with target.open("wb") as out:
                    while chunk := upload.stream.read(_COPY_CHUNK):
                        written += len(chunk)
                        if written > limit:
                            raise TooLarge(f"the uploads are larger than the limit of {limit} "
                                           f"bytes (at parameter {key!r})")
                        out.write(chunk)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            target.chmod(0o644)

    @staticmethod
    def _require_complete(manifest: AppManifest, parameters: list[JobParameter]) -> None:
        given = {p.id for p in parameters}
        missing = [name for name, p in manifest.parameters.items()
                   if p.required and name not in given]
        if missing:
            raise BadRequest(f"missing required parameter{'s' if len(missing) > 1 else ''} "
                             f"for app {manifest.name}: {', '.join(missing)}")

    # -- changing ------------------------------------------------------------------------

    async def update_parameters(self, owner: str | None, job_id: str,
                                fields: list[tuple[str, str | Upload]]) -> Job:
        """Change a PENDING job's parameters (and RUNID, EXECUTIONDURATION, DESTRUCTION,
        PHASE=RUN) all at once: on any error nothing changes."""
        job = self.get(owner, job_id)
        if job.phase is not Phase.PENDING:
            raise PhaseConflict(f"parameters can only be changed while the job is PENDING; "
                                f"it is {job.phase}")
        request = JobRequest.from_fields(fields)
        if request.app is not None:
            raise BadRequest("the app of an existing job cannot be changed")
        run = False
        if request.phase is not None:
            if request.phase.strip().upper() != "RUN":
                raise BadRequest(f"only PHASE=RUN may come with parameters, got "
                                 f"{request.phase!r}")
            run = True
        manifest = AppManifest.model_validate(job.manifest)
        parameters, uploads = self._parameters(manifest, request.parameters, job.parameters)
        changes: dict[str, object] = {"parameters": parameters}
        if request.run_id is not None:
            changes["run_id"] = _run_id(request.run_id)
        if request.execution_duration is not None:
            changes["execution_duration"] = self._duration(request.execution_duration, 0)
        if request.destruction is not None:
            changes["destruction"] = self._destruction(request.destruction, time.time(),
                                                       job.creation_time)
        if run:
            self._require_complete(manifest, parameters)
        files = JobFiles(self.settings.jobs_dir / job.id)
        if uploads:
            await asyncio.to_thread(self._store_uploads, files, uploads)
        self.store.update(job.id, **changes)
        replaced = {p.file for p in job.parameters if p.file} - {
            p.file for p in parameters if p.file}
        for name in replaced:
            (files.inputs / name).unlink(missing_ok=True)
        if "destruction" in changes:
            self.runner.reaper.scheduled(float(changes["destruction"]))  # type: ignore[arg-type]
        return self.run(owner, job.id) if run else self.get(owner, job.id)

    def run(self, owner: str | None, job_id: str) -> Job:
        """PHASE=RUN: queue a PENDING (or HELD) job; a no-op for one already on its way."""
        job = self.get(owner, job_id)
        if job.phase in (Phase.QUEUED, Phase.EXECUTING):
            return job
        check_transition(job.phase, Phase.QUEUED)
        manifest = AppManifest.model_validate(job.manifest)
        self._require_complete(manifest, list(job.parameters))
        self.store.update(job.id, phase=Phase.QUEUED, queued_at=time.time())
        self.notifier.changed(job.id)
        self.runner.enqueue(job.id)
        return self.get(owner, job.id)

    async def abort(self, owner: str | None, job_id: str) -> Job:
        job = self.get(owner, job_id)
        check_transition(job.phase, Phase.ABORTED)
        await self.runner.abort(job)
        return self.get(owner, job_id)

    def set_execution_duration(self, owner: str | None, job_id: str, text: str) -> Job:
        job = self.get(owner, job_id)
        if job.phase is not Phase.PENDING:
            raise PhaseConflict(f"the execution duration can only be changed while the job "
                                f"is PENDING; it is {job.phase}")
        self.store.update(job.id, execution_duration=self._duration(text, 0))
        return self.get(owner, job_id)

    def set_destruction(self, owner: str | None, job_id: str, text: str) -> Job:
        job = self.get(owner, job_id)
        when = self._destruction(text, time.time(), job.creation_time)
        self.store.update(job.id, destruction=when)
        self.runner.reaper.scheduled(when)
        return self.get(owner, job_id)

    async def delete(self, owner: str | None, job_id: str) -> None:
        job = self.get(owner, job_id)
        await self.runner.forget(job)

    # -- files ---------------------------------------------------------------------------

    def result_file(self, job: Job, result_id: str) -> tuple[Path, str]:
        for result in job.results:
            if result.id == result_id:
                path = JobFiles(self.settings.jobs_dir / job.id).result_path(result_id)
                if path is not None:
                    return path, result.mime_type
        raise NotFoundError(f"job {job.id} has no result {result_id!r}")

    def input_file(self, job: Job, name: str) -> Path:
        for param in job.parameters:
            if param.id == name and param.file:
                path = JobFiles(self.settings.jobs_dir / job.id).inputs / param.file
                if path.is_file():
                    return path
        raise NotFoundError(f"job {job.id} has no uploaded file {name!r}")


def _positive_int(text: str) -> int | None:
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number > 0 else None


def _run_id(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) > 255:
        raise BadRequest("RUNID is longer than 255 characters")
    return text


__all__ = ["JobRequest", "JobService", "Upload", "parse_time"]
