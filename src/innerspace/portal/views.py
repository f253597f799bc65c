"""What the portal's pages show, read once per page with bounded work: the apps a caller
may see (grouped by name, newest version first, searched), and a caller's recent jobs (one
query, LIMIT n, on the owner/seq index)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import select

from innerspace.apps.access import visible_apps
from innerspace.apps.catalogue import AppCatalogue, AppImage, CatalogueUnavailable, version_key
from innerspace.auth import Caller
from innerspace.db.tables import jobs
from innerspace.uws.phases import Phase
from innerspace.uws.store import JobStore


@dataclass(frozen=True)
class AppEntry:
    """One app: its versions, newest first (`latest` is the first)."""

    versions: tuple[AppImage, ...]

    @property
    def latest(self) -> AppImage:
        return self.versions[0]

    @property
    def name(self) -> str:
        return self.latest.name

    def matches(self, words: list[str]) -> bool:
        """Every word is in the name, title, description or keywords (case-insensitive)."""
        manifest = self.latest.manifest
        text = " ".join([manifest.name, manifest.title, manifest.description,
                         *manifest.subjects]).lower()
        return all(word in text for word in words)


@dataclass(frozen=True)
class Catalogue:
    """The apps a caller may see, or why they cannot be listed now."""

    apps: tuple[AppEntry, ...]
    problem: str | None = None


async def app_catalogue(request: Request, caller: Caller, query: str = "") -> Catalogue:
    """The apps `caller` may see, by name, those matching every word of `query`."""
    catalogue: AppCatalogue = request.app.state.services.catalogue
    try:
        images = await asyncio.to_thread(catalogue.apps)
    except CatalogueUnavailable as exc:
        return Catalogue((), exc.describe())
    by_name: dict[str, list[AppImage]] = {}
    for image in visible_apps(request.app.state.settings, images, caller):
        by_name.setdefault(image.name, []).append(image)
    entries = [AppEntry(tuple(sorted(versions, key=lambda a: version_key(a.version),
                                     reverse=True)))
               for _, versions in sorted(by_name.items())]
    words = query.lower().split()
    if words:
        entries = [entry for entry in entries if entry.matches(words)]
    return Catalogue(tuple(entries))


@dataclass(frozen=True)
class JobLine:
    """A job as a list shows it."""

    id: str
    app: str
    app_version: str
    phase: Phase
    run_id: str | None
    creation_time: float

    @property
    def created(self) -> str:
        return datetime.fromtimestamp(self.creation_time, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def recent_jobs(store: JobStore, owner: str | None, limit: int = 5) -> list[JobLine]:
    """The newest `limit` jobs of `owner` (None: anonymous callers'), in one query."""
    owned = jobs.c.owner.is_(None) if owner is None else jobs.c.owner == owner
    query = (select(jobs.c.id, jobs.c.app, jobs.c.app_version, jobs.c.phase, jobs.c.run_id,
                    jobs.c.creation_time)
             .where(owned, jobs.c.phase != str(Phase.ARCHIVED))
             .order_by(jobs.c.seq.desc()).limit(limit))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [JobLine(r[0], r[1], r[2], Phase(r[3]), r[4], r[5]) for r in rows]
