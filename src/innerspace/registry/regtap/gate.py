"""How many RegTAP queries run at once: each takes a turn from the gate for its query and
its answer; when every turn is taken, a query waits a little for one, then is refused with
`SearchBusy` (503 with Retry-After), so that a crowd of queries queues neither memory nor
worker threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from innerspace.registry.errors import SearchBusy


class QueryGate:
    """At most `size` turns at once; a request waits up to `wait` seconds for one, and is
    told to come back after `retry_after` seconds when none came free."""

    def __init__(self, size: int, wait: float, *, retry_after: int) -> None:
        self.size = size
        self.wait = wait
        self.retry_after = retry_after
        self.active = 0  # turns taken now
        self._turns = asyncio.Semaphore(size)  # bound to the event loop of its first wait

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._turns.locked():
            try:
                await asyncio.wait_for(self._turns.acquire(), self.wait)
            except TimeoutError:
                raise SearchBusy(
                    f"{self.size} queries are running, the most this service runs at once; "
                    f"try again in {self.retry_after} s",
                    retry_after=self.retry_after) from None
        else:
            await self._turns.acquire()  # free: returns at once
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            self._turns.release()
