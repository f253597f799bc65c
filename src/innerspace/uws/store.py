"""The job store: jobs, their parameters and results, in SQLAlchemy Core tables.

SQLite (the default) and PostgreSQL are both supported. Times are stored as UTC epoch
seconds, which sort and compare the same way in every database. The schema is owned by
Alembic migrations (innerspace/migrations); `JobStore.open` upgrades it.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)

from innerspace.uws.phases import Phase

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("seq", Integer, nullable=False),  # creation order, unique and monotonic
    Column("owner", String(255), nullable=True, index=True),
    Column("run_id", String(255), nullable=True),
    Column("phase", String(16), nullable=False),
    Column("app", String(255), nullable=False),
    Column("app_version", String(128), nullable=False),
    Column("image", String(255), nullable=False),
    Column("manifest", JSON, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("results", JSON, nullable=False),
    Column("creation_time", Float, nullable=False),
    Column("start_time", Float, nullable=True),
    Column("end_time", Float, nullable=True),
    Column("queued_at", Float, nullable=True),
    Column("execution_duration", Integer, nullable=False),
    Column("destruction", Float, nullable=False),
    Column("error_message", Text, nullable=True),
    Column("error_type", String(16), nullable=True),
    Column("container", String(128), nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("message", Text, nullable=True),
    Index("ix_jobs_owner_seq", "owner", "seq"),
    Index("ix_jobs_phase", "phase"),
    Index("ix_jobs_destruction", "destruction"),
)

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
    seq: int = 0

    def with_changes(self, **changes: Any) -> Job:
        return replace(self, **changes)


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

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> JobStore:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        if migrate:
            from innerspace.migrations import upgrade

            upgrade(engine)
        return cls(engine)

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
        with self.engine.begin() as conn:
            conn.execute(_INSERT, _row(job))
        return job

    def update(self, job_id: str, **values: Any) -> None:
        if "parameters" in values:
            values["parameters"] = [p.to_json() for p in values["parameters"]]
        if "results" in values:
            values["results"] = [r.to_json() for r in values["results"]]
        if "phase" in values:
            values["phase"] = str(values["phase"])
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def delete(self, job_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(jobs).where(jobs.c.id == job_id))

    # -- reading -----------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def list_refs(self, owner: str | None, filters: ListFilter) -> list[JobRef]:
        columns = (jobs.c.id, jobs.c.phase, jobs.c.owner, jobs.c.run_id, jobs.c.creation_time)
        query = select(*columns).where(_owner_is(owner))
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

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(jobs)).scalar_one())


def _owner_is(owner: str | None) -> Any:
    return jobs.c.owner.is_(None) if owner is None else jobs.c.owner == owner


def owned_by(job: Job, owner: str | None) -> bool:
    return job.owner == owner


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
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL sync is durable across crashes
    # of the service (not of the OS), the usual trade for an embedded job database.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


__all__ = ["Job", "JobParameter", "JobRef", "JobResult", "JobStore", "ListFilter",
           "new_job_id", "owned_by"]
