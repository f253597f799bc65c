"""The in-process UWS jobs behind /registry/tap/async (uws/inprocess.py) with a stand-in
executor: the bounds (jobs per owner, result bytes, execution duration, destruction, jobs
running at once), owner privacy, ABORT of a running job, destruction by the reaper and
recovery after a restart -- every phase moved by the UWS lifecycle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from innerspace.auth import Caller
from innerspace.config.tapjobs import TAPJobs
from innerspace.errors import Conflict, Forbidden
from innerspace.registry.errors import RegTAPError
from innerspace.uws.errors import JobNotFound
from innerspace.uws.inprocess import InProcessJobs, Outcome
from innerspace.uws.phases import Phase
from innerspace.uws.store import Job, JobStore

ALICE, BOB, ROOT = Caller("alice"), Caller("bob"), Caller("root", admin=True)


def _jobs(path: Path, execute: Callable[[Job], Awaitable[Outcome]], **limits: Any
          ) -> InProcessJobs:
    store = JobStore.open(f"sqlite:///{path / 'jobs.sqlite'}")
    return InProcessJobs(store, path / "files", TAPJobs(**limits), "test", execute,
                         lambda message: Outcome(message.encode(), "text/plain"),
                         max_duration=2, max_wait=30)


async def _echo(job: Job) -> Outcome:
    values = {p.id: p.value for p in job.parameters}
    if values.get("QUERY") == "fail":
        raise RegTAPError("the query failed")
    if values.get("QUERY") == "sleep":
        await asyncio.sleep(60)
    return Outcome(values.get("QUERY", "").encode(), "text/plain")


async def _final(jobs: InProcessJobs, caller: Caller, job_id: str) -> Job:
    job = jobs.get(caller, job_id)
    while not job.phase.is_final:
        job = await jobs.wait(caller, job_id, "30", None)
    return job


def test_runs_and_bounds(tmp_path: Path) -> None:
    async def scenario() -> None:
        jobs = _jobs(tmp_path, _echo, max_per_owner=5, max_result_bytes=10)
        jobs.start()
        try:
            done = jobs.create(ALICE, [("QUERY", "small"), ("PHASE", "RUN")])
            job = await _final(jobs, ALICE, done.id)
            assert job.phase is Phase.COMPLETED and job.results[0].size == 5
            path, _ = jobs.result_file(job, "result")
            assert path.read_bytes() == b"small"
            big = await _final(jobs, ALICE, jobs.create(
                ALICE, [("QUERY", "x" * 11), ("PHASE", "RUN")]).id)
            assert big.phase is Phase.ERROR and "more than the 10" in (big.error_message or "")
            failed = await _final(jobs, ALICE, jobs.create(
                ALICE, [("QUERY", "fail"), ("PHASE", "RUN")]).id)
            assert failed.error_message == "the query failed"
            error = jobs.error_file(failed)
            assert error is not None and error.read_bytes() == b"the query failed"
            slow = await _final(jobs, ALICE, jobs.create(
                ALICE, [("QUERY", "sleep"), ("PHASE", "RUN"), ("EXECUTIONDURATION", "99")]).id)
            assert slow.execution_duration == 2, "capped by the longest duration"
            assert slow.phase is Phase.ERROR and "execution duration" in (
                slow.error_message or "")
            jobs.create(ALICE, [("QUERY", "q")])
            with pytest.raises(Conflict):
                jobs.create(ALICE, [("QUERY", "q")])
            assert jobs.create(BOB, [("QUERY", "q")]).owner == "bob", "per owner"
        finally:
            await jobs.close()

    asyncio.run(scenario())


def test_owners_abort_and_destruction(tmp_path: Path) -> None:
    async def scenario() -> None:
        jobs = _jobs(tmp_path, _echo, max_running=1)
        jobs.start()
        try:
            running = jobs.create(ALICE, [("QUERY", "sleep"), ("PHASE", "RUN")])
            queued = jobs.create(ALICE, [("QUERY", "q"), ("PHASE", "RUN")])
            await jobs.wait(ALICE, running.id, "30", "QUEUED")
            assert jobs.get(ALICE, queued.id).phase is Phase.QUEUED, "one runs at a time"
            with pytest.raises(JobNotFound):
                jobs.get(BOB, running.id)
            assert jobs.list_jobs(BOB, [], None, None) == []
            with pytest.raises(Forbidden):
                jobs.set_destruction(ROOT, running.id, "2999-01-01T00:00:00Z")
            await jobs.abort(ROOT, running.id)
            assert jobs.get(ALICE, running.id).phase is Phase.ABORTED
            assert (await _final(jobs, ALICE, queued.id)).phase is Phase.COMPLETED
            soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
            jobs.set_destruction(ALICE, queued.id, soon)
            # The reaper's turn comes when it comes: wait generously for the condition.
            give_up = time.monotonic() + 120
            while time.monotonic() < give_up:
                if not any(r.id == queued.id for r in jobs.list_jobs(ALICE, [], None, None)):
                    break
                await asyncio.sleep(0.05)
            with pytest.raises(JobNotFound):
                jobs.get(ALICE, queued.id)
            assert not (tmp_path / "files" / queued.id).exists()
        finally:
            await jobs.close()

    asyncio.run(scenario())


def test_a_restart_ends_what_ran(tmp_path: Path) -> None:
    async def first() -> str:
        jobs = _jobs(tmp_path, _echo)
        jobs.start()
        job = jobs.create(ALICE, [("QUERY", "sleep"), ("PHASE", "RUN")])
        await jobs.wait(ALICE, job.id, "30", "QUEUED")
        jobs._tasks.clear()  # the process dies: nothing ends the job
        await jobs.close()
        return job.id

    async def second(job_id: str) -> Job:
        jobs = _jobs(tmp_path, _echo)
        jobs.start()
        try:
            return jobs.get(ALICE, job_id)
        finally:
            await jobs.close()

    job = asyncio.run(second(asyncio.run(first())))
    assert job.phase is Phase.ERROR and "restarted" in (job.error_message or "")
