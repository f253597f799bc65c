"""Errors a UWS request can meet, each carrying its HTTP status; one handler renders them
as plain text (see routes)."""

from __future__ import annotations


class UWSError(Exception):
    """A request that cannot be honoured; `status` is its HTTP status code."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(UWSError):
    status = 400


class NotAuthenticated(UWSError):
    status = 401


class JobNotFound(UWSError):
    status = 404

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id!r}")


class NotFoundError(UWSError):
    status = 404


class PhaseConflict(UWSError):
    """The job's phase does not allow the request (e.g. changing parameters of a run job)."""

    status = 409


class TooLarge(UWSError):
    status = 413


class Unavailable(UWSError):
    status = 503
