"""Progress lines from the app become the job's message, at most once a second (the last,
100% line always), and nothing once the run is over. The clock is the test's."""

from __future__ import annotations

from innerspace.runtime import PROGRESS_PREFIX
from innerspace.uws.progress import ProgressReporter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_become_messages_once_a_second() -> None:
    reports: list[str] = []
    clock = Clock()
    reporter = ProgressReporter(reports.append, clock)
    reporter("plain output is not progress")
    reporter(f"{PROGRESS_PREFIX} 0.250 reading the catalogue")
    reporter(f"{PROGRESS_PREFIX} 0.500 too soon")
    clock.now += 1.0
    reporter(f"{PROGRESS_PREFIX} - matching")
    reporter(f"{PROGRESS_PREFIX} 1.000 done")
    reporter(f"{PROGRESS_PREFIX}")
    reporter.closed = True
    clock.now += 10
    reporter(f"{PROGRESS_PREFIX} 0.9 after the end")
    assert reports == ["progress 25%: reading the catalogue", "progress matching",
                       "progress 100%: done"]
