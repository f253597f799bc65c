"""Phase changes in one place: JobLifecycle checks each move against the phase machine,
writes it in one update guarded by the phase it read, and wakes WAIT; the first final
phase wins. On a real SQLite job store in tmp_path."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from innerspace.uws.errors import JobNotFound, PhaseConflict
from innerspace.uws.lifecycle import JobLifecycle
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import Phase
from innerspace.uws.store import Job, JobResult, JobStore, new_job_id


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = JobStore.open(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


@pytest.fixture
def notifier() -> PhaseNotifier:
    return PhaseNotifier()


@pytest.fixture
def lifecycle(store: JobStore, notifier: PhaseNotifier) -> JobLifecycle:
    return JobLifecycle(store, notifier)


def add(store: JobStore, phase: Phase) -> Job:
    now = time.time()
    return store.insert(Job(id=new_job_id(), owner=None, phase=phase, app="demo",
                            app_version="1.0", image="sha256:" + "0" * 64, manifest={},
                            creation_time=now, execution_duration=60,
                            destruction=now + 3600, message="pulling"))


def stored(store: JobStore, job_id: str) -> Job:
    job = store.get(job_id)
    assert job is not None
    return job


def test_a_legal_move_writes_phase_and_values_and_wakes_waiters(
        store: JobStore, notifier: PhaseNotifier, lifecycle: JobLifecycle) -> None:
    job = add(store, Phase.QUEUED)
    woken = notifier.watch(job.id)
    left = lifecycle.move(job.id, Phase.EXECUTING, start_time=12.5, container="c1")
    assert left is Phase.QUEUED
    moved = stored(store, job.id)
    assert (moved.phase, moved.start_time, moved.container) == (Phase.EXECUTING, 12.5, "c1")
    assert woken.is_set()


def test_an_illegal_move_changes_nothing_and_wakes_nobody(
        store: JobStore, notifier: PhaseNotifier, lifecycle: JobLifecycle) -> None:
    job = add(store, Phase.PENDING)
    woken = notifier.watch(job.id)
    with pytest.raises(PhaseConflict, match="PENDING cannot move to EXECUTING"):
        lifecycle.move(job.id, Phase.EXECUTING, start_time=1.0)
    assert stored(store, job.id) == job
    assert not woken.is_set()


def test_moving_a_job_that_is_gone(lifecycle: JobLifecycle) -> None:
    with pytest.raises(JobNotFound):
        lifecycle.move("nosuchjob0000000", Phase.QUEUED)


def test_a_move_overtaken_by_another_change_is_refused(
        store: JobStore, lifecycle: JobLifecycle, monkeypatch: pytest.MonkeyPatch) -> None:
    job = add(store, Phase.QUEUED)
    read = store.get

    def read_then_change(job_id: str) -> Job | None:
        seen = read(job_id)  # the lifecycle reads QUEUED; the job moves on before it writes
        assert store.change_phase(job_id, Phase.QUEUED, Phase.ABORTED)
        return seen

    monkeypatch.setattr(store, "get", read_then_change)
    with pytest.raises(PhaseConflict, match="left phase QUEUED"):
        lifecycle.move(job.id, Phase.EXECUTING)
    monkeypatch.undo()
    assert stored(store, job.id).phase is Phase.ABORTED


def test_end_records_the_end(store: JobStore, lifecycle: JobLifecycle) -> None:
    job = add(store, Phase.EXECUTING)
    before = time.time()
    assert lifecycle.end(job.id, Phase.ERROR, error_message="bad", exit_code=None,
                         results=[JobResult("stdout", 0, "text/plain")])
    ended = stored(store, job.id)
    assert ended.phase is Phase.ERROR and ended.error_type == "fatal"
    assert ended.error_message == "bad" and ended.message is None
    assert ended.results == (JobResult("stdout", 0, "text/plain"),)
    assert ended.end_time is not None and ended.end_time >= before


def test_the_first_final_phase_wins(store: JobStore, notifier: PhaseNotifier,
                                    lifecycle: JobLifecycle) -> None:
    job = add(store, Phase.EXECUTING)
    assert lifecycle.end(job.id, Phase.COMPLETED, exit_code=0)
    first = stored(store, job.id)
    woken = notifier.watch(job.id)
    assert not lifecycle.end(job.id, Phase.ABORTED, error_message="too late")
    assert stored(store, job.id) == first
    assert not woken.is_set()
    with pytest.raises(PhaseConflict):
        lifecycle.move(job.id, Phase.ABORTED)


def test_ending_a_deleted_job_is_quiet(store: JobStore, lifecycle: JobLifecycle) -> None:
    job = add(store, Phase.EXECUTING)
    store.delete(job.id)
    assert not lifecycle.end(job.id, Phase.ERROR, error_message="lost")


def test_end_refuses_what_the_phase_machine_forbids(store: JobStore,
                                                    lifecycle: JobLifecycle) -> None:
    job = add(store, Phase.PENDING)
    with pytest.raises(PhaseConflict):
        lifecycle.end(job.id, Phase.COMPLETED)
    with pytest.raises(ValueError, match="not a final phase"):
        lifecycle.end(job.id, Phase.QUEUED)
    assert stored(store, job.id).phase is Phase.PENDING


def test_the_store_changes_phases_only_conditionally(store: JobStore) -> None:
    job = add(store, Phase.QUEUED)
    with pytest.raises(ValueError, match="JobLifecycle"):
        store.update(job.id, phase=Phase.EXECUTING)
    assert not store.change_phase(job.id, Phase.PENDING, Phase.ABORTED)
    assert stored(store, job.id).phase is Phase.QUEUED
    assert store.change_phase(job.id, Phase.QUEUED, Phase.EXECUTING, container="c")
    assert stored(store, job.id).container == "c"
    assert not store.change_phase("nosuchjob0000000", Phase.QUEUED, Phase.EXECUTING)
