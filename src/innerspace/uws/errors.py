"""The errors particular to UWS; they answer as their bases in innerspace.errors do."""

from __future__ import annotations

from innerspace.errors import Conflict, NotFound


class JobNotFound(NotFound):
    """No such job, or another owner's (the two look the same)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id!r}")


class PhaseConflict(Conflict):
    """The job's phase does not allow the request (e.g. changing parameters of a run job)."""
