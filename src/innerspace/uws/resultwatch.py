"""A running job's results against its quota: looked at while the container runs and once
more when it has ended; past the quota (in bytes, or in entries, or nested deeper than a job
may keep) the container is stopped.

A look is a bounded walk in a thread, off the event loop. Looks come once a second, and more
often while the results grow fast enough to reach the quota before the next one (down to
MIN_INTERVAL apart), so that a fast writer is caught soon after it passes; and never closer
than WALK_SHARE times the last walk's duration, so that watching costs a job a tenth of a
core at most. Between two looks a job can still write at the disk's speed: the overshoot is
cut back when the job ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from innerspace.units import format_memory
from innerspace.uws.disk import TreeSize
from innerspace.uws.jobfiles import JobFiles

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0  # seconds between two looks while the results grow slowly or not
MIN_INTERVAL = 0.05  # seconds between two looks, at least (also after the first look)
WALK_SHARE = 10  # ... and at least this many times as long as the last look took


class ResultWatch:
    """Watches `files`' results against `quota` bytes and `max_entries` entries; `stop`
    stops the job's container."""

    def __init__(self, files: JobFiles, quota: int, max_entries: int,
                 stop: Callable[[], Awaitable[None]]) -> None:
        self._files = files
        self._max_entries = max_entries
        self._stop = stop
        self.quota = quota
        self.breach: str | None = None  # what passed the quota, once something has
        self.stopped = False  # whether this watch stopped the container for it

    def look(self) -> TreeSize:
        """What the results take now (blocking: run it in a thread)."""
        return self._files.results_size(self._max_entries)

    def judge(self, size: TreeSize) -> str | None:
        """What in `size` passes the quota, or None."""
        if size.overflow is not None:
            return f"the results hold {size.overflow}, more than a job may keep"
        if size.bytes > self.quota:
            return f"the results passed the quota of {format_memory(self.quota)}"
        return None

    async def run(self) -> None:
        """Look until the quota is passed, then stop the container (cancel it to end)."""
        previous: tuple[float, int] | None = None  # when the last look began, what it saw
        while self.breach is None:
            started = time.monotonic()
            try:
                size = await asyncio.to_thread(self.look)
            except OSError as exc:  # the look when the job ends says what is wrong
                log.warning("cannot look at the results in %s: %s", self._files.results, exc)
                await asyncio.sleep(CHECK_INTERVAL)
                continue
            self.breach = self.judge(size)
            if self.breach is not None:
                try:
                    await self._stop()
                    self.stopped = True
                except Exception as exc:  # the end-of-run check still applies
                    log.warning("could not stop a job past its result quota: %s", exc)
                return
            took = time.monotonic() - started
            pause = until_next_look(self.quota, previous, started, size.bytes)
            await asyncio.sleep(max(pause, WALK_SHARE * took))
            previous = (started, size.bytes)

    async def final_check(self) -> str | None:
        """After the run: what passed the quota (found while it ran, or now)."""
        if self.breach is None:
            self.breach = self.judge(await asyncio.to_thread(self.look))
        return self.breach


def until_next_look(quota: int, previous: tuple[float, int] | None, now: float,
                    used: int) -> float:
    """Seconds until the next look: half the time the results, growing as they did since
    the `previous` look (when, bytes), would take to reach `quota` from `used` now; between
    MIN_INTERVAL and CHECK_INTERVAL."""
    if previous is None:
        return MIN_INTERVAL  # no pace known yet: look again soon to learn it
    since, before = previous
    rate = (used - before) / max(now - since, 1e-3)
    if rate <= 0:
        return CHECK_INTERVAL
    return min(CHECK_INTERVAL, max(MIN_INTERVAL, (quota - used) / rate / 2))
