"""Destruction: when a job's destruction time comes, the job, its container and its files go.

The reaper sleeps until the earliest destruction time it knows of and is woken early only
when a sooner one appears. A job that cannot be destroyed is retried with a growing delay
instead of in a tight loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from innerspace.uws.store import Job, JobStore

log = logging.getLogger(__name__)

LONGEST_SLEEP = 3600.0
FIRST_RETRY = 5.0
LONGEST_RETRY = 3600.0


class DestructionReaper:
    """Runs `destroy(job)` for every job whose destruction time has passed."""

    def __init__(self, store: JobStore, destroy: Callable[[Job], Awaitable[None]]) -> None:
        self._store = store
        self._destroy = destroy
        self._wake = asyncio.Event()
        self._planned = float("inf")  # when the loop will next look
        self._retry_at: dict[str, tuple[float, float]] = {}  # job -> (time, delay)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="innerspace-reaper")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def scheduled(self, when: float) -> None:
        """A job's destruction is now `when`; wake the loop only if that is sooner."""
        if when < self._planned:
            self._planned = when
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            now = time.time()
            for job_id in self._store.expired(now):
                retry = self._retry_at.get(job_id)
                if retry is not None and retry[0] > now:
                    continue
                job = self._store.get(job_id)
                if job is None:
                    continue
                try:
                    await self._destroy(job)
                    self._retry_at.pop(job_id, None)
                    log.info("destroyed job %s (destruction time reached)", job_id)
                except Exception as exc:
                    delay = min(LONGEST_RETRY, retry[1] * 2 if retry else FIRST_RETRY)
                    self._retry_at[job_id] = (now + delay, delay)
                    log.error("could not destroy job %s (retrying in %.0f s): %s",
                              job_id, delay, exc)
            following = self._store.next_destruction()
            candidates = [LONGEST_SLEEP]
            if following is not None:
                candidates.append(following - now)
            if self._retry_at:
                candidates.append(min(t for t, _ in self._retry_at.values()) - now)
            delay = max(0.05, min(candidates))
            if following is not None and following <= now and self._retry_at:
                # Only jobs waiting for a retry are due: sleep until the first retry.
                delay = max(0.05, min(t for t, _ in self._retry_at.values()) - now)
            self._planned = now + delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
