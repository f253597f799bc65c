"""What a log line is about: the request being answered (its id, the caller once known, the
job its URL names) or the job being run. Kept in context variables, so that every log line
of a request, or of a job's supervising task, carries them without being passed around.

Tasks and threads started while a request is answered inherit its context; a job's task is
started in a context of its own (`job_context`), so that it never carries the id of the
request that happened to start it.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

# What an incoming X-Request-ID may be to be kept: what tracing systems send (UUIDs, hex
# ids, "Root=1-5e1b-..."), short, printable ASCII with no spaces or quotes.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}", re.ASCII)


# The request state's key under which web/caller.py keeps the caller once it is known
# (web.caller.CALLER_STATE; a test checks they agree).
CALLER_STATE = "innerspace_caller"


@dataclass
class RequestInfo:
    """The request being answered: its id, and, read from its scope when a line is logged,
    the caller's owner (once authenticated) and the job the matched route names."""

    request_id: str
    scope: MutableMapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def owner(self) -> str | None:
        caller = (self.scope.get("state") or {}).get(CALLER_STATE)
        owner = getattr(caller, "owner", None)
        return owner if isinstance(owner, str) else None

    @property
    def job_id(self) -> str | None:
        params = self.scope.get("path_params") or {}
        job_id = params.get("job_id")
        return job_id if isinstance(job_id, str) else None


_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "innerspace_request", default=None)
_job: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "innerspace_job", default=None)


def request_id_from(header: str | None) -> str:
    """The id of a request: its X-Request-ID when that looks like an id, else a new one."""
    if header is not None and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request() -> RequestInfo | None:
    return _request.get()


def enter_request(info: RequestInfo) -> contextvars.Token[RequestInfo | None]:
    """Make `info` the current request (until `leave_request` with the token)."""
    return _request.set(info)


def leave_request(token: contextvars.Token[RequestInfo | None]) -> None:
    _request.reset(token)


def current_job() -> str | None:
    """The job the current line is about: the one being run, or the one the request's
    URL names."""
    job_id = _job.get()
    if job_id is None and (info := _request.get()) is not None:
        return info.job_id
    return job_id


def job_context(job_id: str) -> contextvars.Context:
    """A context for a task that runs one job: its job id, and no request."""
    context = contextvars.copy_context()
    context.run(_bind_job, job_id)
    return context


def _bind_job(job_id: str) -> None:
    _request.set(None)
    _job.set(job_id)
