"""How a run ends, judged from the engine's ExitStatus: abort and time-out come first, then
out-of-memory, engine failure (an explicit field, never a negative exit code), the app's
own failure quoting its stderr, and success."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from innerspace.config import Limits, Settings
from innerspace.engines.base import ExitStatus
from innerspace.uws.outcome import STDERR_TAIL, Outcome, judge, stderr_tail
from innerspace.uws.phases import Phase
from innerspace.uws.store import Job
from tests.support.uws_harness import demo_manifest


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, limits=Limits(max_memory="256M"))


def job() -> Job:
    return Job(id="abcdefghijklmnop", owner=None, phase=Phase.EXECUTING, app="demo",
               app_version="1.0", image="sha256:" + "0" * 64,
               manifest=demo_manifest().model_dump(mode="json"), creation_time=time.time(),
               execution_duration=30, destruction=time.time() + 3600)


def outcome(settings: Settings, status: ExitStatus, stderr: Path, *, timed_out: bool = False,
            aborted: bool = False) -> Outcome:
    return judge(settings, job(), status, timed_out=timed_out, aborted=aborted,
                 stderr=stderr)


def test_success(settings: Settings, tmp_path: Path) -> None:
    assert outcome(settings, ExitStatus(0), tmp_path / "none") == Outcome(
        Phase.COMPLETED, None, 0)


def test_abort_wins_over_everything(settings: Settings, tmp_path: Path) -> None:
    status = ExitStatus(137, oom_killed=True, error="stopped")
    assert outcome(settings, status, tmp_path / "none", timed_out=True, aborted=True) == \
        Outcome(Phase.ABORTED, None, 137)


def test_time_out(settings: Settings, tmp_path: Path) -> None:
    assert outcome(settings, ExitStatus(137), tmp_path / "none", timed_out=True) == Outcome(
        Phase.ERROR, "the job exceeded its execution duration of 30 s and was stopped", 137)


def test_out_of_memory_names_the_limit_in_force(settings: Settings, tmp_path: Path) -> None:
    # The app asks for 512M; the server's cap of 256M is what the container got.
    assert outcome(settings, ExitStatus(137, oom_killed=True), tmp_path / "none") == Outcome(
        Phase.ERROR, "the application ran out of memory (limit 256M)", 137)


@pytest.mark.parametrize("status", [
    ExitStatus.engine_failed("the container disappeared"),
    ExitStatus(1, failure="the container disappeared"),  # a code alongside is not the app's
])
def test_engine_failure_has_no_exit_code(settings: Settings, tmp_path: Path,
                                         status: ExitStatus) -> None:
    assert outcome(settings, status, tmp_path / "none") == Outcome(
        Phase.ERROR, "the job failed: the container disappeared", None)


def test_an_engine_that_reports_nothing(settings: Settings, tmp_path: Path) -> None:
    assert outcome(settings, ExitStatus(None), tmp_path / "none") == Outcome(
        Phase.ERROR, "the job failed: the engine lost it", None)


def test_app_failure_quotes_the_engine_note_or_stderr(settings: Settings,
                                                      tmp_path: Path) -> None:
    stderr = tmp_path / "stderr.txt"
    assert outcome(settings, ExitStatus(2), stderr) == Outcome(
        Phase.ERROR, "the application exited with status 2", 2)
    stderr.write_text("\nValueError: bad input\n\n")
    assert outcome(settings, ExitStatus(2), stderr).message == (
        "the application exited with status 2: ValueError: bad input")
    assert outcome(settings, ExitStatus(2, error="killed"), stderr).message == (
        "the application exited with status 2: killed")


def test_long_stderr_is_cut_to_its_end(tmp_path: Path) -> None:
    stderr = tmp_path / "stderr.txt"
    stderr.write_text("x" * STDERR_TAIL + "THE END")
    tail = stderr_tail(stderr)
    assert tail.startswith("...") and tail.endswith("THE END")
    assert len(tail) == STDERR_TAIL + 3
