"""The errors particular to UWS; they answer as their bases in innerspace.errors do."""

from __future__ import annotations

from innerspace.errors import Conflict, NotFound, TooMany


class JobNotFound(NotFound):
    """No such job, or another owner's (the two look the same)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id!r}")


class PhaseConflict(Conflict):
    """The job's phase does not allow the request (e.g. changing parameters of a run job)."""


class StorageQuotaExceeded(Conflict):
    """The owner's jobs hold their storage quota or more; deleting jobs makes room. A
    conflict with the state of the owner's jobs (409), which the owner can resolve, rather
    than a refusal of the caller (403) or of a request body (413)."""

    code = "storage-quota-exceeded"


class QueuedQuotaExceeded(TooMany):
    """The owner already has `limits.max_queued_per_owner` jobs waiting in the queue; a
    further job may run once some have started (429: waiting helps, as for a rate limit)."""

    code = "queued-quota-exceeded"
