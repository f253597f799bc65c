"""Wake-ups on job phase changes, for UWS WAIT: a waiter sleeps on an event that the change
itself sets, so a blocked request returns the moment the phase moves (no polling)."""

from __future__ import annotations

import asyncio


class PhaseNotifier:
    """One event per watched job, replaced after each change. Lives in the service process."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def watch(self, job_id: str) -> asyncio.Event:
        """The event the next change of `job_id` will set. Take it *before* reading the job."""
        event = self._events.get(job_id)
        if event is None:
            event = self._events[job_id] = asyncio.Event()
        return event

    def changed(self, job_id: str) -> None:
        event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    @staticmethod
    async def wait(event: asyncio.Event, timeout: float) -> bool:
        """True if the event fired within `timeout` seconds."""
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True
