"""What one owner's jobs use of the service, next to the limits that apply to them: jobs
holding a slot and waiting in the queue (the runner's view, which the quotas apply to), jobs
in each phase (the store's), and the bytes their files take or may come to take (the storage
quota's count). Served at GET /usage (uws/usage_routes.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from innerspace.config import Settings
from innerspace.uws.runner import JobRunner
from innerspace.uws.store import JobStore


@dataclass(frozen=True)
class Usage:
    """One owner's usage and limits; None for a limit that does not apply."""

    owner: str | None
    running: int
    queued: int
    jobs: dict[str, int]  # phase -> jobs of the owner in it
    storage_bytes: int
    limits: dict[str, int | None]

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "running": self.running, "queued": self.queued,
                "jobs": dict(self.jobs), "storage_bytes": self.storage_bytes,
                "limits": dict(self.limits)}


def usage_of(settings: Settings, store: JobStore, runner: JobRunner,
             owner: str | None) -> Usage:
    """The usage of `owner` (None: anonymous callers, who share their quotas)."""
    limits = settings.limits
    return Usage(
        owner=owner, running=runner.running(owner), queued=runner.queued(owner),
        jobs={str(phase): count for phase, count in sorted(
            store.phase_counts(owner).items(), key=lambda item: str(item[0]))},
        storage_bytes=store.stored_bytes(owner),
        limits={"max_running_per_owner": limits.running_quota,
                "max_queued_per_owner": limits.queued_quota,
                "max_storage_per_owner": limits.storage_quota,
                "max_running_jobs": limits.max_running_jobs})
