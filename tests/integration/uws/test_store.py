"""The job store on both supported databases: embedded SQLite and PostgreSQL (a real server
set up by `make test`; skipped with a reason when none is available), and a job run by a
service whose store is PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from innerspace.uws.phases import Phase
from innerspace.uws.store import Job, JobParameter, JobResult, JobStore, ListFilter, new_job_id
from tests.support.uwsutil import UWS, create, wait_final


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    opened = JobStore.open(database_url)
    yield opened
    opened.close()


def make_job(**changes: Any) -> Job:
    now = time.time()
    values: dict[str, Any] = dict(
        id=new_job_id(), owner="alice", phase=Phase.PENDING, app="hello",
        app_version="1.0.0", image="sha256:" + "a" * 64, manifest={"name": "hello"},
        creation_time=now, execution_duration=60, destruction=now + 3600,
        parameters=(JobParameter("name", "Ada"), JobParameter("image", "f.fits", True, "image")),
    )
    values.update(changes)
    return Job(**values)


def test_insert_get_update_delete(store: JobStore) -> None:
    job = store.insert(make_job())
    assert job.seq == 1
    loaded = store.get(job.id)
    assert loaded == job
    assert store.change_phase(job.id, Phase.PENDING, Phase.COMPLETED,
                              results=[JobResult("a.txt", 3, "text/plain")], end_time=123.5)
    assert not store.change_phase(job.id, Phase.PENDING, Phase.ABORTED), "no longer PENDING"
    store.update(job.id, message="kept")
    updated = store.get(job.id)
    assert updated is not None
    assert updated.phase is Phase.COMPLETED
    assert updated.results == (JobResult("a.txt", 3, "text/plain"),)
    assert updated.end_time == 123.5 and updated.message == "kept"
    store.delete(job.id)
    assert store.get(job.id) is None


def test_list_filters(store: JobStore) -> None:
    base = time.time()
    jobs = [store.insert(make_job(creation_time=base + i, phase=phase, owner=owner))
            for i, (phase, owner) in enumerate([
                (Phase.PENDING, "alice"), (Phase.COMPLETED, "alice"), (Phase.ERROR, "alice"),
                (Phase.ARCHIVED, "alice"), (Phase.PENDING, "bob"), (Phase.PENDING, None)])]
    ids = [job.id for job in jobs]
    listed = [ref.id for ref in store.list_refs("alice", ListFilter())]
    assert listed == ids[:3], "own jobs, creation order, ARCHIVED hidden by default"
    union = store.list_refs("alice", ListFilter(phases=[Phase.ERROR, Phase.PENDING]))
    assert {ref.id for ref in union} == {ids[0], ids[2]}
    assert [r.id for r in store.list_refs("alice", ListFilter(phases=[Phase.ARCHIVED]))] == [
        ids[3]]
    after = store.list_refs("alice", ListFilter(after=base + 0.5))
    assert [ref.id for ref in after] == ids[1:3]
    last = store.list_refs("alice", ListFilter(last=2))
    assert [ref.id for ref in last] == [ids[2], ids[1]], "LAST: newest first"
    assert [ref.id for ref in store.list_refs(None, ListFilter())] == [ids[5]]


def test_destruction_and_durations(store: JobStore) -> None:
    now = time.time()
    soon = store.insert(make_job(destruction=now - 1))
    store.insert(make_job(destruction=now + 100))
    assert store.expired(now) == [soon.id]
    assert store.next_destruction() == pytest.approx(now - 1)
    done = store.insert(make_job(phase=Phase.COMPLETED, start_time=now, end_time=now + 2.5))
    assert done.seq == 3
    assert store.recent_durations("hello") == [pytest.approx(2.5)]
    assert store.in_phases([Phase.COMPLETED])[0].id == done.id
    assert store.count() == 3


def test_a_job_runs_with_postgresql(make_service: Any, postgres_url: str) -> None:
    service = make_service(database_url=postgres_url)
    with service.client() as http:
        job_url = create(http, {"app": "hello", "name": "Postgres", "PHASE": "RUN"})
        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert http.get(f"{job_url}/results/greeting.txt").text == "Hello, Postgres!\n"
    service.restart()
    with service.client() as http:
        assert http.get(f"{job_url}/phase").text == "COMPLETED", "the job outlives a restart"
