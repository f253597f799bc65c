"""The app's progress lines (innerspace.runtime.progress) turned into the job's message,
which its jobInfo shows while it runs."""

from __future__ import annotations

import time
from collections.abc import Callable

from innerspace.runtime import PROGRESS_PREFIX


class ProgressReporter:
    """Called with each line the app writes to stdout; passes progress lines on to `report`
    as "progress 40%: text", at most once a second (and always for the last, 100% line)."""

    def __init__(self, report: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._report = report
        self._clock = clock
        self._last: float | None = None  # when the last report went
        self.closed = False

    def __call__(self, line: str) -> None:
        if self.closed or not line.startswith(PROGRESS_PREFIX):
            return
        fields = line[len(PROGRESS_PREFIX):].split(maxsplit=1)
        if not fields:
            return
        fraction, text = fields[0], (fields[1] if len(fields) > 1 else "")
        try:
            percent = f"{float(fraction):.0%}"
        except ValueError:
            percent = ""
        message = ": ".join(p for p in (percent, text.strip()) if p)
        now = self._clock()
        due = self._last is None or now - self._last >= 1.0 or fraction.startswith("1")
        if message and due:
            self._last = now
            self._report(f"progress {message}")
