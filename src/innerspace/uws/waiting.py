"""UWS 1.1 blocking (WAIT, sect. 2.2.1.1), for every job list: the container jobs of /jobs
(service.py) and the in-process ones (inprocess.py). The wake-up comes from the phase change
itself (PhaseNotifier), never from polling."""

from __future__ import annotations

import time
from collections.abc import Callable

from innerspace.errors import BadRequest
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import Phase, parse_phase
from innerspace.uws.store import Job

# Only these phases block (UWS 1.1 sect. 2.2.1.1); a job in any other answers at once.
BLOCKING = frozenset({Phase.PENDING, Phase.QUEUED, Phase.EXECUTING})


async def wait_for_change(notifier: PhaseNotifier, read: Callable[[], Job], job_id: str,
                          seconds: str, phase: str | None, limit: int) -> Job:
    """The job `read()` gives, once it leaves its phase (with `phase`: only if it is still
    in that phase), or after `seconds` (WAIT's text; negative or over `limit`: `limit`).
    `read` raises for a job the caller may not see, then and at every wake-up."""
    try:
        wait = int(seconds)
    except ValueError:
        raise BadRequest(f"WAIT must be an integer number of seconds, got {seconds!r}"
                         ) from None
    wait = limit if wait < 0 else min(wait, limit)
    awaited = parse_phase(phase) if phase is not None else None
    # Reading the job and taking its event happen with no await in between, so no change
    # can slip through; only existing, visible jobs get an event.
    job = read()
    event = notifier.watch(job_id)
    start_phase = job.phase
    if wait == 0 or start_phase not in BLOCKING or (awaited and awaited != start_phase):
        return job
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not await notifier.wait(event, remaining):
            return read()
        job = read()
        event = notifier.watch(job_id)
        if job.phase != start_phase:
            return job
