"""The jobs list of /portal/jobs: a caller's jobs (an administrator's: everyone's, when
asked), newest first, filtered by phase, app and creation date, a page at a time.

Pages are keyset pages: the cursor is the creation sequence number (`seq`, unique and in
creation order) of the last job shown, so each page is one query that reads PAGE_SIZE + 1
rows along the (owner, seq) index, whatever the number of jobs before it - never an
OFFSET that walks them all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from innerspace.db.tables import jobs
from innerspace.errors import BadRequest
from innerspace.portal.views import JobLine
from innerspace.uws.phases import Phase
from innerspace.uws.store import JobStore

PAGE_SIZE = 50
MAX_APP = 255


@dataclass(frozen=True)
class JobFilter:
    """What the list shows: `owner`'s jobs (every owner's when `everyone`)."""

    owner: str | None
    everyone: bool = False
    phases: tuple[Phase, ...] = ()
    app: str = ""
    since: date | None = None  # created on or after this day (UTC)
    until: date | None = None  # created on or before this day (UTC)
    before: int | None = None  # the cursor: jobs created before this seq


@dataclass(frozen=True)
class JobPage:
    jobs: list[JobLine]
    owners: dict[str, str | None] = field(default_factory=dict)  # id -> owner (everyone's)
    next_cursor: int | None = None  # the `before` of the next page, if there is one


def parse_day(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"{name} must be a date as YYYY-MM-DD, got {text[:40]!r}") from None


def parse_phases(values: list[str]) -> tuple[Phase, ...]:
    found = []
    for value in values:
        if not value.strip():
            continue
        try:
            found.append(Phase(value.strip().upper()))
        except ValueError:
            raise BadRequest(f"phase {value[:40]!r} is not a UWS phase") from None
    return tuple(found)


def parse_cursor(text: str | None) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"before must be a job's sequence number, got {text[:40]!r}"
                         ) from None
    return value if value > 0 else None


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def job_page(store: JobStore, wanted: JobFilter, size: int = PAGE_SIZE) -> JobPage:
    """One page of the jobs `wanted` describes, newest first, in one query."""
    query = select(jobs.c.id, jobs.c.app, jobs.c.app_version, jobs.c.phase, jobs.c.run_id,
                   jobs.c.creation_time, jobs.c.seq, jobs.c.owner)
    if not wanted.everyone:
        query = query.where(jobs.c.owner.is_(None) if wanted.owner is None
                            else jobs.c.owner == wanted.owner)
    if wanted.phases:
        query = query.where(jobs.c.phase.in_([str(p) for p in wanted.phases]))
    else:
        query = query.where(jobs.c.phase != str(Phase.ARCHIVED))
    if wanted.app:
        query = query.where(jobs.c.app == wanted.app[:MAX_APP])
    if wanted.since is not None:
        query = query.where(jobs.c.creation_time >= _epoch(wanted.since))
    if wanted.until is not None:
        query = query.where(jobs.c.creation_time < _epoch(wanted.until + timedelta(days=1)))
    if wanted.before is not None:
        query = query.where(jobs.c.seq < wanted.before)
    query = query.order_by(jobs.c.seq.desc()).limit(size + 1)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    more = len(rows) > size
    rows = rows[:size]
    lines = [JobLine(r[0], r[1], r[2], Phase(r[3]), r[4], r[5]) for r in rows]
    return JobPage(lines, {r[0]: r[7] for r in rows},
                   int(rows[-1][6]) if more and rows else None)


def app_names(store: JobStore, owner: str | None, everyone: bool, limit: int = 200
              ) -> list[str]:
    """The apps of the owner's jobs (for the filter's choices), bounded."""
    query = select(jobs.c.app).distinct()
    if not everyone:
        query = query.where(jobs.c.owner.is_(None) if owner is None else jobs.c.owner == owner)
    query = query.order_by(jobs.c.app).limit(limit)
    with store.engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(query)]
