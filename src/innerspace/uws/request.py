"""A UWS request as the job service takes it: the fields of a form, UWS's own reserved
ones (app, PHASE, RUNID, EXECUTIONDURATION, DESTRUCTION) split from the app's parameters,
and the ISO 8601 times they carry. Nothing here knows of HTTP."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from innerspace.errors import BadRequest
from innerspace.uws.phases import parse_phase
from innerspace.uws.store import ListFilter

# Reserved names (lower case) -> JobRequest attributes.
_RESERVED = {"app": "app", "phase": "phase", "runid": "run_id",
             "executionduration": "execution_duration", "destruction": "destruction"}


@dataclass
class Upload:
    """An uploaded file as received: its name as the client gave it, and a readable stream."""

    filename: str | None
    stream: BinaryIO


@dataclass
class JobRequest:
    """The fields of a UWS request, reserved ones split from the app's parameters."""

    app: str | None = None
    phase: str | None = None
    run_id: str | None = None
    execution_duration: str | None = None
    destruction: str | None = None
    parameters: list[tuple[str, str | Upload]] = field(default_factory=list)

    @classmethod
    def from_fields(cls, fields: list[tuple[str, str | Upload]]) -> JobRequest:
        request = cls()
        seen: set[str] = set()
        for name, value in fields:
            key = name.lower()
            if key in _RESERVED:
                if isinstance(value, Upload):
                    raise BadRequest(f"{name} must be a plain value, not a file")
                if key in seen:
                    raise BadRequest(f"{name} is given more than once")
                seen.add(key)
                setattr(request, _RESERVED[key], value)
            else:
                request.parameters.append((name, value))
        return request


def parse_time(text: str, name: str = "DESTRUCTION") -> float:
    """An ISO 8601 instant; one without a time zone is taken as UTC."""
    value = text.strip()
    if not value:
        raise BadRequest(f"{name} is empty; give an ISO 8601 time such as 2030-01-01T00:00:00Z")
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise BadRequest(f"{name} {text!r} is not an ISO 8601 time "
                         "(e.g. 2030-01-01T00:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def positive_int(text: str) -> int | None:
    """The positive integer `text` spells in ASCII digits, else None."""
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number > 0 else None


def list_filter(phases: Iterable[str], after: str | None, last: str | None) -> ListFilter:
    """A job list's filters as UWS 1.1 says: PHASE (any number), AFTER, LAST."""
    filters = ListFilter()
    filters.phases.extend(parse_phase(phase) for phase in phases)
    if after is not None:
        filters.after = parse_time(after, "AFTER")
    if last is not None:
        count = positive_int(last)
        if count is None:
            raise BadRequest(f"LAST must be a positive integer, got {last!r}")
        filters.last = min(count, 1_000_000)
    return filters


def run_id(text: str | None) -> str | None:
    """RUNID as given, within its length limit."""
    if text is None:
        return None
    if len(text) > 255:
        raise BadRequest("RUNID is longer than 255 characters")
    return text
