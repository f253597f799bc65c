"""The per-owner storage quota: each job records the bytes its files take (Job.stored_bytes),
and an owner whose jobs hold `limits.max_storage_per_owner` or more gets no new job until
some are deleted. Anonymous callers are one owner and share one quota.

The quota is checked when a job is created or asked to run (a refusal is a 409), and once
more when the runner starts it (a refusal ends the job in ERROR), so that a queue filled
while there was room cannot pass the quota. From its start to its end a job counts at what
it may come to take (its files, its result quota and its logs), so that jobs running at once
cannot pass the quota together either; when it ends, it counts at what its files take.
"""

from __future__ import annotations

from innerspace.apps.manifest import AppManifest
from innerspace.config import Settings
from innerspace.units import format_memory
from innerspace.uws.disk import human_size
from innerspace.uws.errors import StorageQuotaExceeded
from innerspace.uws.launch import result_quota
from innerspace.uws.store import JobStore


def reservation(settings: Settings, manifest: AppManifest) -> int:
    """What a run of the app may add to its job's files: its results and its logs."""
    return result_quota(settings, manifest) + settings.limits.log_size


def check_storage(settings: Settings, store: JobStore, owner: str | None) -> None:
    """Refuse a new job (or a run) for an owner at or over the storage quota."""
    quota = settings.limits.storage_quota
    if quota is None:
        return
    used = store.stored_bytes(owner)
    if used >= quota:
        who = f"the jobs of {owner}" if owner is not None else \
            "the jobs of anonymous callers (who share one quota)"
        raise StorageQuotaExceeded(
            f"storage quota used up: {who} hold {human_size(used)} of the "
            f"{format_memory(quota)} allowed (running jobs count at their result quota); "
            f"delete jobs to make room")
