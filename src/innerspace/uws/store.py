"""The job store: jobs, their parameters and results, in SQLAlchemy Core tables.

SQLite (the default) and PostgreSQL are both supported. Times are stored as UTC epoch
seconds, which sort and compare the same way in every database. The schema is owned by
Alembic migrations (innerspace/db); `open_database` upgrades it.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update

from innerspace.db import jobs, open_database
from innerspace.uws.phases import Phase

_ID_ALPHABET = string.ascii_lowercase + string.digits
_INSERT = insert(jobs)


def new_job_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


@dataclass(frozen=True)
class JobParameter:
    """A UWS parameter as the job shows it: `value` is the text given, or a URL if uploaded."""

    id: str
    value: str
    by_reference: bool = False
    file: str | None = None  # stored upload, relative to the job's inputs directory

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "value": self.value}
        if self.by_reference:
            data["by_reference"] = True
        if self.file:
            data["file"] = self.file
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobParameter:
        return cls(data["id"], data["value"], bool(data.get("by_reference")), data.get("file"))


@dataclass(frozen=True)
class JobResult:
    """A result file: `id` is its path relative to the results (or `stdout`, `stderr`)."""

    id: str
    size: int
    mime_type: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "size": self.size, "mime_type": self.mime_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        return cls(data["id"], int(data["size"]), data["mime_type"])


@dataclass(frozen=True)
class Job:
    """One UWS job, as stored."""

    id: str
    owner: str | None
    phase: Phase
    app: str
    app_version: str
    image: str
    manifest: dict[str, Any]
    creation_time: float
    execution_duration: int
    destruction: float
    parameters: tuple[JobParameter, ...] = ()
    results: tuple[JobResult, ...] = ()
    run_id: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    queued_at: float | None = None
    error_message: str | None = None
    error_type: str | None = None
    container: str | None = None
    exit_code: int | None = None
    message: str | None = None  # what is happening now, e.g. pulling the image
    # Bytes its files take (uploads, results, logs); from its start to its end, what they
    # may come to take. Summed per owner for the storage quota (uws/storage.py).
    stored_bytes: int = 0
    seq: int = 0

    def with_changes(self, **changes: Any) -> Job:
        return replace(self, **changes)

    @property
    def app_reference(self) -> str:
        """The `app` value that creates this job again (its parameter list shows it):
        `name@sha256:...` for an image pinned by its registry digest (exactly that image,
        wherever the repository is shared), else `name:version` (a local image id, which
        only the engine that built it knows)."""
        if "@" in self.image:
            return f"{self.app}@{self.image.rpartition('@')[2]}"
        return f"{self.app}:{self.app_version}"


@dataclass(frozen=True)
class JobRef:
    """The short description shown in job lists."""

    id: str
    phase: Phase
    owner: str | None
    run_id: str | None
    creation_time: float


@dataclass
class ListFilter:
    """UWS 1.1 job list filters: PHASE (union), AFTER, LAST."""

    phases: list[Phase] = field(default_factory=list)
    after: float | None = None
    last: int | None = None


class JobStore:
    """Reads and writes jobs. All methods are short, synchronous transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._seq_lock = threading.Lock()
        with engine.connect() as conn:
            self._seq = int(conn.execute(select(func.coalesce(func.max(jobs.c.seq), 0)))
                            .scalar_one())
        # Owner -> the sum of its jobs' stored_bytes, read once and then moved with every
        # write that changes it (one process owns the database, as for `_seq`), so that the
        # storage check at each job creation costs no query over all the owner's jobs.
        self._stored: dict[str | None, int] | None = None
        self._stored_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> JobStore:
        """A store on its own database engine (tools and tests; the service shares one)."""
        return cls(open_database(url, migrate))

    def close(self) -> None:
        self.engine.dispose()

    # -- writing -----------------------------------------------------------------------

    def insert(self, job: Job) -> Job:
        # One service process owns a job database (see docs/operations.md), so the creation
        # counter lives in memory; the row goes in as bound parameters, which SQLAlchemy
        # compiles once rather than per job.
        with self._seq_lock:
            self._seq += 1
            job = job.with_changes(seq=self._seq)
        with self._stored_lock:
            with self.engine.begin() as conn:
                conn.execute(_INSERT, _row(job))
            self._move_stored(job.owner, job.stored_bytes)
        return job

    def update(self, job_id: str, **values: Any) -> None:
        """Change a job's fields other than its phase (see `change_phase`)."""
        if "phase" in values:
            raise ValueError("a job's phase changes only through JobLifecycle.move")
        self._write(update(jobs).where(jobs.c.id == job_id).values(**_columns(values)),
                    job_id, values.get("stored_bytes"))

    def change_phase(self, job_id: str, current: Phase, target: Phase, **values: Any) -> bool:
        """Move a job from `current` to `target`, with `values`, in one update that only
        applies while the job is still in `current`; False when it is not (or is gone).
        The write behind JobLifecycle.move, which checks the move against the phase machine."""
        query = (update(jobs).where(and_(jobs.c.id == job_id, jobs.c.phase == str(current)))
                 .values(phase=str(target), **_columns(values)))
        return self._write(query, job_id, values.get("stored_bytes"))

    def delete(self, job_id: str) -> None:
        self._write(delete(jobs).where(jobs.c.id == job_id), job_id, 0)

    def _write(self, statement: Any, job_id: str, stored: int | None) -> bool:
        """Run a write of one job; when it sets the job's stored bytes to `stored` (0 for a
        deletion), move its owner's total by the change. True when the write applied."""
        if stored is None:
            with self.engine.begin() as conn:
                return bool(conn.execute(statement).rowcount == 1)
        with self._stored_lock:
            with self.engine.begin() as conn:
                before = _stored_of(conn, job_id)
                applied = bool(conn.execute(statement).rowcount == 1)
            if applied and before is not None:  # committed: the total moves with it
                self._move_stored(before[0], stored - before[1])
            return applied

    def _move_stored(self, owner: str | None, change: int) -> None:
        """(Holding _stored_lock, once the write has been committed.)"""
        if self._stored is not None and change:
            self._stored[owner] = self._stored.get(owner, 0) + change

    # -- reading -----------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def list_refs(self, owner: str | None, filters: ListFilter, *,
                  every_owner: bool = False) -> list[JobRef]:
        """The jobs of `owner` (None: of anonymous callers), or of every owner."""
        columns = (jobs.c.id, jobs.c.phase, jobs.c.owner, jobs.c.run_id, jobs.c.creation_time)
        query = select(*columns)
        if not every_owner:
            query = query.where(_owner_is(owner))
        if filters.phases:
            query = query.where(jobs.c.phase.in_([str(p) for p in filters.phases]))
        else:
            # UWS 1.1: ARCHIVED jobs are listed only when asked for by PHASE.
            query = query.where(jobs.c.phase != str(Phase.ARCHIVED))
        if filters.after is not None:
            query = query.where(jobs.c.creation_time > filters.after)
        if filters.last is not None:
            query = query.order_by(jobs.c.creation_time.desc(), jobs.c.seq.desc())
            query = query.limit(filters.last)
        else:
            query = query.order_by(jobs.c.seq)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [JobRef(r[0], Phase(r[1]), r[2], r[3], r[4]) for r in rows]

    def in_phases(self, phases: Iterable[Phase]) -> list[Job]:
        query = (select(jobs).where(jobs.c.phase.in_([str(p) for p in phases]))
                 .order_by(jobs.c.queued_at, jobs.c.seq))
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]

    def expired(self, now: float, limit: int = 500) -> list[str]:
        query = select(jobs.c.id).where(jobs.c.destruction <= now).limit(limit)
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def next_destruction(self) -> float | None:
        with self.engine.connect() as conn:
            return conn.execute(select(func.min(jobs.c.destruction))).scalar_one_or_none()

    def recent_durations(self, app: str, limit: int = 20) -> list[float]:
        query = (select(jobs.c.end_time - jobs.c.start_time)
                 .where(and_(jobs.c.app == app, jobs.c.phase == str(Phase.COMPLETED),
                             jobs.c.start_time.is_not(None), jobs.c.end_time.is_not(None)))
                 .order_by(jobs.c.seq.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [float(row[0]) for row in conn.execute(query)]

    def phase_counts(self, owner: str | None) -> dict[Phase, int]:
        """How many jobs `owner` has in each phase it has jobs in."""
        query = (select(jobs.c.phase, func.count()).where(_owner_is(owner))
                 .group_by(jobs.c.phase))
        with self.engine.connect() as conn:
            return {Phase(row[0]): int(row[1]) for row in conn.execute(query)}

    def phase_totals(self) -> dict[str, int]:
        """How many jobs, of every owner, are in each phase (the metrics; phase is indexed)."""
        query = select(jobs.c.phase, func.count()).group_by(jobs.c.phase)
        with self.engine.connect() as conn:
            return {str(row[0]): int(row[1]) for row in conn.execute(query)}

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(jobs)).scalar_one())

    def stored_bytes(self, owner: str | None) -> int:
        """The bytes the jobs of `owner` take or may come to take (see Job.stored_bytes);
        anonymous callers (None) share one total."""
        with self._stored_lock:
            if self._stored is None:
                query = select(jobs.c.owner, func.sum(jobs.c.stored_bytes)).group_by(
                    jobs.c.owner)
                with self.engine.connect() as conn:
                    self._stored = {row[0]: int(row[1] or 0) for row in conn.execute(query)}
            return self._stored.get(owner, 0)


def _stored_of(conn: Connection, job_id: str) -> tuple[str | None, int] | None:
    row = conn.execute(select(jobs.c.owner, jobs.c.stored_bytes)
                       .where(jobs.c.id == job_id)).first()
    return None if row is None else (row[0], int(row[1]))


def _owner_is(owner: str | None) -> Any:
    return jobs.c.owner.is_(None) if owner is None else jobs.c.owner == owner


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Field values as the table stores them (parameters and results as JSON data)."""
    columns = dict(values)
    if "parameters" in columns:
        columns["parameters"] = [p.to_json() for p in columns["parameters"]]
    if "results" in columns:
        columns["results"] = [r.to_json() for r in columns["results"]]
    return columns


def _row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "seq": job.seq, "owner": job.owner, "run_id": job.run_id,
        "phase": str(job.phase), "app": job.app, "app_version": job.app_version,
        "image": job.image, "manifest": job.manifest,
        "parameters": [p.to_json() for p in job.parameters],
        "results": [r.to_json() for r in job.results],
        "creation_time": job.creation_time, "start_time": job.start_time,
        "end_time": job.end_time, "queued_at": job.queued_at,
        "execution_duration": job.execution_duration, "destruction": job.destruction,
        "error_message": job.error_message, "error_type": job.error_type,
        "container": job.container, "exit_code": job.exit_code, "message": job.message,
        "stored_bytes": job.stored_bytes,
    }


def _job(row: Any) -> Job:
    def loads(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    return Job(
        id=row["id"], seq=row["seq"], owner=row["owner"], run_id=row["run_id"],
        phase=Phase(row["phase"]), app=row["app"], app_version=row["app_version"],
        image=row["image"], manifest=loads(row["manifest"]),
        parameters=tuple(JobParameter.from_json(p) for p in loads(row["parameters"])),
        results=tuple(JobResult.from_json(r) for r in loads(row["results"])),
        creation_time=row["creation_time"], start_time=row["start_time"],
        end_time=row["end_time"], queued_at=row["queued_at"],
        execution_duration=row["execution_duration"], destruction=row["destruction"],
        error_message=row["error_message"], error_type=row["error_type"],
        container=row["container"], exit_code=row["exit_code"], message=row["message"],
        stored_bytes=int(row["stored_bytes"]),
    )


__all__ = ["Job", "JobParameter", "JobRef", "JobResult", "JobStore", "ListFilter",
           "new_job_id"]
