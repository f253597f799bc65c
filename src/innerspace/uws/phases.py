"""The UWS execution phases and the one function that decides which transitions are legal."""

from __future__ import annotations

from enum import StrEnum

from innerspace.errors import BadRequest
from innerspace.uws.errors import PhaseConflict


class Phase(StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    ABORTED = "ABORTED"
    UNKNOWN = "UNKNOWN"
    HELD = "HELD"
    SUSPENDED = "SUSPENDED"
    ARCHIVED = "ARCHIVED"

    @property
    def is_final(self) -> bool:
        return self in FINAL

    @property
    def is_active(self) -> bool:
        """The job is waiting for or holding a container."""
        return self in (Phase.QUEUED, Phase.EXECUTING)


def parse_phase(text: str) -> Phase:
    """A phase as a client names it (PHASE= of a job list or of WAIT), in any case."""
    try:
        return Phase(text.strip().upper())
    except ValueError:
        raise BadRequest(f"PHASE {text!r} is not a UWS phase; one of "
                         f"{', '.join(p.value for p in Phase)}") from None


FINAL = frozenset({Phase.COMPLETED, Phase.ERROR, Phase.ABORTED, Phase.ARCHIVED})

_ALLOWED: dict[Phase, frozenset[Phase]] = {
    Phase.PENDING: frozenset({Phase.QUEUED, Phase.ABORTED, Phase.ERROR}),
    Phase.HELD: frozenset({Phase.QUEUED, Phase.ABORTED}),
    Phase.QUEUED: frozenset({Phase.EXECUTING, Phase.ABORTED, Phase.ERROR}),
    Phase.EXECUTING: frozenset({Phase.COMPLETED, Phase.ERROR, Phase.ABORTED}),
    Phase.SUSPENDED: frozenset({Phase.EXECUTING, Phase.ABORTED, Phase.ERROR}),
}


def check_transition(current: Phase, target: Phase) -> None:
    """Raise PhaseConflict unless a job may move from `current` to `target`."""
    if target not in _ALLOWED.get(current, frozenset()):
        raise PhaseConflict(f"a job in phase {current} cannot move to {target}")
