"""Progress lines from the app become the job's message: at most one write a second per job,
with no exception (a fraction starting with "1" forces none), the newest held-back line
written when its second is up, the last one written when the run ends, nothing after.
The clock and the timers are the test's."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import pytest

from innerspace.runtime import PROGRESS_PREFIX
from innerspace.uws.progress import ProgressReporter, progress_message


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Timers:
    """call_later of a loop that only runs when the test says so."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.pending: list[tuple[float, Callable[[], None], Timer]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer()
        self.pending.append((self.clock.now + delay, callback, timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, firing the timers that fall due, in time order."""
        end = self.clock.now + seconds
        while due := sorted((t for t in self.pending if t[0] <= end), key=lambda t: t[0]):
            when, callback, timer = due[0]
            self.pending.remove(due[0])
            self.clock.now = max(self.clock.now, when)
            if not timer.cancelled:
                callback()
        self.clock.now = end


class Timer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def line(text: str) -> str:
    return f"{PROGRESS_PREFIX} {text}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timers(clock: Clock) -> Timers:
    return Timers(clock)


def test_lines_become_messages() -> None:
    assert progress_message(line("0.250 reading the catalogue")) == (
        "progress 25%: reading the catalogue")
    assert progress_message(line("- matching")) == "progress matching"
    assert progress_message(line("1.000")) == "progress 100%"
    assert progress_message(PROGRESS_PREFIX) is None
    assert progress_message("plain output is not progress") is None


def test_at_most_one_write_a_second_and_the_newest_held_line_follows(
        clock: Clock, timers: Timers) -> None:
    reports: list[tuple[float, str]] = []
    reporter = ProgressReporter(lambda m: reports.append((clock.now, m)), clock, timers)
    reporter("plain output is not progress")
    reporter(line("0.25 reading"))
    reporter(line("0.5 too soon"))
    timers.advance(0.5)
    reporter(line("0.75 newer"))
    timers.advance(0.6)  # the second is up: the newest held line goes
    timers.advance(5)  # nothing else is held: no write
    reporter(line("0.9 later"))
    assert reports == [(100.0, "progress 25%: reading"), (101.0, "progress 75%: newer"),
                       (106.1, "progress 90%: later")]


@pytest.mark.parametrize("fraction", ["1e-9", "1.0", "10", "1", "100%"])
def test_no_fraction_forces_a_write(clock: Clock, timers: Timers, fraction: str) -> None:
    reports: list[str] = []
    reporter = ProgressReporter(reports.append, clock, timers)
    reporter(line("0.1 start"))
    for _ in range(1000):
        reporter(line(f"{fraction} flood"))
    assert len(reports) == 1, "held back until the second is up"
    timers.advance(1.0)
    assert len(reports) == 2


def test_a_flood_writes_once_a_second(clock: Clock, timers: Timers) -> None:
    writes: list[float] = []
    reporter = ProgressReporter(lambda _: writes.append(clock.now), clock, timers)
    for step in range(10_000):  # ten seconds of lines a millisecond apart
        reporter(line(f"{step / 10_000} working"))
        timers.advance(0.001)
    gaps = [later - earlier for earlier, later in pairwise(writes)]
    assert len(writes) == pytest.approx(10, abs=1)
    assert min(gaps) >= 1.0 - 1e-9


def test_the_held_line_is_written_when_the_run_ends_and_nothing_after(
        clock: Clock, timers: Timers) -> None:
    reports: list[str] = []
    reporter = ProgressReporter(reports.append, clock, timers)
    reporter(line("0.5 half way"))
    reporter(line("1.0 done"))
    reporter.close()
    assert reports == ["progress 50%: half way", "progress 100%: done"]
    assert all(timer.cancelled for _, _, timer in timers.pending), "no write after the end"
    timers.advance(10)
    reporter(line("0.9 after the end"))
    reporter.close()
    assert reports == ["progress 50%: half way", "progress 100%: done"]
    assert reporter.closed


def test_closing_with_nothing_held_writes_nothing(clock: Clock, timers: Timers) -> None:
    reports: list[str] = []
    reporter = ProgressReporter(reports.append, clock, timers)
    reporter(line("0.5 half way"))
    timers.advance(2)
    reporter.close()
    assert reports == ["progress 50%: half way"]


def test_a_timer_that_fires_early_waits_again(clock: Clock) -> None:
    reports: list[str] = []
    fired: list[Callable[[], None]] = []

    def later(delay: float, callback: Callable[[], None]) -> Timer:
        fired.append(callback)
        return Timer()

    reporter = ProgressReporter(reports.append, clock, later)
    reporter(line("0.1 a"))
    reporter(line("0.2 b"))
    clock.now += 0.999
    fired.pop()()  # early: no write, a new timer instead
    assert reports == ["progress 10%: a"] and len(fired) == 1
    clock.now += 0.001
    fired.pop()()
    assert reports == ["progress 10%: a", "progress 20%: b"]
