"""The fair-share queue in front of the engine: first in, first out within one owner, and
across owners the next free slot goes to the owner with the fewest jobs running, ties to
the one served least recently. One owner's hundred queued jobs therefore hold back another
owner's first job by at most one slot's turnover, however long the queue.

An owner at `max_running_per_owner` is passed over (their jobs wait while others run).
Anonymous callers (owner None) are one owner here, as for every quota.

The queue lives in memory and is rebuilt from the job store after a restart (the runner
pushes the QUEUED jobs in the order they were queued, which keeps each owner's order).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping

Owner = str | None
# Owners whose last turn is remembered; past this many, those with no queued job are
# forgotten (they count as newcomers when they come back).
_REMEMBERED = 10_000


class FairQueue:
    """Job ids waiting for a slot, one FIFO line per owner."""

    def __init__(self) -> None:
        self._lines: dict[Owner, deque[str]] = {}  # insertion order: who came first
        self._owner_of: dict[str, Owner] = {}
        # Owner -> the turn of their last start (-1: never served), kept when their line
        # empties, so that an owner who just had a job started is not taken for a newcomer.
        self._served: dict[Owner, int] = {}
        self._turn = 0

    def __len__(self) -> int:
        return len(self._owner_of)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._owner_of

    def __iter__(self) -> Iterator[str]:
        """Every queued job id, owner by owner (for inspection, not the start order)."""
        for line in self._lines.values():
            yield from line

    def push(self, job_id: str, owner: Owner) -> None:
        """Queue a job at the end of its owner's line (a job already queued stays put)."""
        if job_id in self._owner_of:
            return
        self._owner_of[job_id] = owner
        self._lines.setdefault(owner, deque()).append(job_id)
        if owner not in self._served and len(self._served) >= _REMEMBERED:
            self._served = {o: turn for o, turn in self._served.items() if o in self._lines}
        self._served.setdefault(owner, -1)

    def remove(self, job_id: str) -> bool:
        """Take a job out of the queue (an abort); False when it was not queued."""
        if job_id not in self._owner_of:
            return False
        owner = self._owner_of.pop(job_id)
        line = self._lines[owner]
        line.remove(job_id)
        if not line:
            del self._lines[owner]
        return True

    def queued(self, owner: Owner) -> int:
        """How many of `owner`'s jobs wait."""
        line = self._lines.get(owner)
        return len(line) if line else 0

    def owner_of(self, job_id: str) -> Owner:
        return self._owner_of.get(job_id)

    def pop(self, running: Mapping[Owner, int], per_owner: int | None
            ) -> tuple[str, Owner] | None:
        """The job to start next and its owner, out of the queue; None when nobody may
        start one (the queue is empty, or every waiting owner runs `per_owner` jobs).
        `running` counts each owner's jobs holding a slot."""
        best: tuple[tuple[int, int], Owner] | None = None
        for owner in self._lines:  # in order of arrival: the last tie-break
            count = running.get(owner, 0)
            if per_owner is not None and count >= per_owner:
                continue
            key = (count, self._served[owner])
            if best is None or key < best[0]:
                best = (key, owner)
        if best is None:
            return None
        owner = best[1]
        line = self._lines[owner]
        job_id = line.popleft()
        del self._owner_of[job_id]
        self._served[owner] = self._turn
        self._turn += 1
        if not line:
            del self._lines[owner]
        return job_id, owner

    def ahead(self, job_id: str, running: Mapping[Owner, int]) -> int:
        """About how many queued jobs start before `job_id` (all of them if it is not
        queued): those ahead in its owner's line, and as many from each other line, one
        more from a line whose owner comes before its owner now. An estimate for quotes:
        jobs ending, arriving and owners' running limits change it."""
        if job_id not in self._owner_of:
            return len(self)
        owner = self._owner_of[job_id]
        position = self._lines[owner].index(job_id)
        mine = (running.get(owner, 0), self._served[owner])
        ahead = position
        for other, line in self._lines.items():
            if other != owner:
                first = (running.get(other, 0), self._served[other]) < mine
                ahead += min(len(line), position + (1 if first else 0))
        return ahead

