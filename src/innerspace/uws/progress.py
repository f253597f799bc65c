"""The app's progress lines (innerspace.runtime.progress) turned into the job's message,
which its jobInfo shows while it runs.

Each report is a database write, and an app can print progress lines as fast as it likes,
so a job gets at most one report a second, with no exception: a line that comes sooner is
held back (a newer one replaces it) and reported when its second is up, and the one still
held back when the run ends is reported then, so the last state shown is the app's last.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from innerspace.runtime import PROGRESS_PREFIX

INTERVAL = 1.0  # seconds between two reports of one job, at least


class Timer(Protocol):
    def cancel(self) -> None: ...


# Calls a function after a delay in seconds (the event loop's call_later by default).
Later = Callable[[float, Callable[[], None]], Timer]


def _loop_later(delay: float, callback: Callable[[], None]) -> Timer:
    return asyncio.get_running_loop().call_later(delay, callback)


def progress_message(line: str) -> str | None:
    """"progress 40%: text" for a progress line of the app, None for any other line."""
    if not line.startswith(PROGRESS_PREFIX):
        return None
    fields = line[len(PROGRESS_PREFIX):].split(maxsplit=1)
    if not fields:
        return None
    fraction, text = fields[0], (fields[1] if len(fields) > 1 else "")
    try:
        percent = f"{float(fraction):.0%}"
    except ValueError:
        percent = ""
    message = ": ".join(p for p in (percent, text.strip()) if p)
    return f"progress {message}" if message else None


class ProgressReporter:
    """Called with each line the app writes to stdout (on the event loop); passes progress
    lines on to `report`, at most once per INTERVAL (see the module docstring). `clock`
    and `later` are the loop's unless a test gives its own."""

    def __init__(self, report: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic,
                 later: Later = _loop_later) -> None:
        self._report = report
        self._clock = clock
        self._later = later
        self._last: float | None = None  # when the last report went
        self._held: str | None = None  # the newest message not yet reported
        self._timer: Timer | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def __call__(self, line: str) -> None:
        message = progress_message(line)
        if self._closed or message is None:
            return
        self._held = message
        self._send_or_wait()

    def close(self) -> None:
        """The run is over: report the message still held back, then nothing more."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._held is not None:
            self._send(self._clock())

    def _send_or_wait(self) -> None:
        now = self._clock()
        wait = 0.0 if self._last is None else self._last + INTERVAL - now
        if wait <= 0:
            self._send(now)
        elif self._timer is None:
            self._timer = self._later(wait, self._due)

    def _due(self) -> None:
        self._timer = None
        if not self._closed and self._held is not None:
            self._send_or_wait()  # a timer that fires a little early waits again

    def _send(self, now: float) -> None:
        message, self._held = self._held, None
        if message is not None:
            self._last = now
            self._report(message)
