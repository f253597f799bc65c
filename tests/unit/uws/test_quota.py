"""Disk limits of jobs on the fake engine: the result quota (the service's, or less if the
manifest asks) in the container spec with the file-size and open-file limits, enforced
while the job runs and once more at its end (results staged back by a cluster engine);
a full or failing job file system, which ends the job in ERROR, never leaving it QUEUED or
EXECUTING; and the bytes each job's files take, recorded when it is queued and when it
ends. The per-owner storage quota: tests/unit/uws/test_storage.py."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from innerspace.auth import Caller
from innerspace.engines.base import EngineError
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.phases import Phase
from innerspace.uws.resultwatch import CHECK_INTERVAL, MIN_INTERVAL, until_next_look
from innerspace.uws.store import JobResult
from tests.support.fake_engine import FakeEngine
from tests.support.uws_harness import DemoCatalogue, UWSHarness, demo_manifest

pytestmark = pytest.mark.anyio

ENDED = (Phase.COMPLETED, Phase.ERROR, Phase.ABORTED)
MiB = 1024 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def write(path: Path, size: int, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))


async def test_the_spec_carries_the_quota_and_the_file_limits(tmp_path: Path) -> None:
    small = demo_manifest(resources={"memory": "512M", "max_result_size": "3M"})
    greedy = demo_manifest(name="greedy", resources={"max_result_size": "5T"})
    async with UWSHarness(tmp_path, max_result_size="1G", max_open_files=200) as uws:
        jobs = [uws.submit(manifest=m).id for m in (demo_manifest(), small, greedy)]
        specs = []
        for job_id in jobs:
            await uws.executing(job_id)
            specs.append(uws.engine.container_of(job_id).spec)
            await uws.engine.finish(job_id)
            await uws.reached(job_id, *ENDED)
    quotas = [(s.result_quota, s.max_file_size, s.max_open_files) for s in specs if s]
    assert quotas == [(1024**3, 1024**3, 200), (3 * MiB, 3 * MiB, 200),
                      (1024**3, 1024**3, 200)], "a manifest may only lower the quota"


def test_results_growing_fast_are_looked_at_more_often() -> None:
    assert until_next_look(100 * MiB, None, 10.0, 0) == MIN_INTERVAL, "learn the pace"
    assert until_next_look(100 * MiB, (9.0, 5 * MiB), 10.0, 5 * MiB) == CHECK_INTERVAL
    assert until_next_look(100 * MiB, (9.0, MiB), 10.0, 2 * MiB) == CHECK_INTERVAL, "slow"
    # 40M left at 20M a second: half the two seconds it would take
    assert until_next_look(100 * MiB, (9.0, 40 * MiB), 10.0, 60 * MiB) == 1.0
    assert until_next_look(100 * MiB, (9.5, 40 * MiB), 10.0, 60 * MiB) == 0.5
    assert until_next_look(100 * MiB, (9.9, 0), 10.0, 99 * MiB) == MIN_INTERVAL


async def test_results_past_the_quota_stop_the_job_and_are_cut_back(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_result_size="2100K") as uws:  # 2M and a directory
        job = uws.submit()
        await uws.executing(job.id)
        results = uws.files(job.id).results
        for n, name in enumerate(["first.bin", "sub/second.bin", "third.bin"]):
            write(results / name, MiB, mtime=1000 + n)  # the app goes on writing
        ended = await uws.reached(job.id, *ENDED)
    assert ended.phase is Phase.ERROR
    assert ended.error_message == ("the results passed the quota of 2100K; the job was "
                                   "stopped; 1 file (1M) was removed: third.bin")
    assert uws.engine.stopped == [uws.engine.container_of(job.id).handle]
    assert [r.id for r in ended.results] == ["first.bin", "sub/second.bin", "stdout", "stderr"]
    assert sorted(p.name for p in results.rglob("*")) == ["first.bin", "second.bin", "sub"]


async def test_too_many_result_files_stop_the_job(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_result_entries=50) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        for n in range(200):
            write(uws.files(job.id).results / f"f{n:03d}", 1, mtime=n)
        ended = await uws.reached(job.id, *ENDED)
    assert ended.phase is Phase.ERROR
    assert (ended.error_message or "").startswith(
        "the results hold more than 50 files and directories, more than a job may keep; "
        "the job was stopped; what lay past the limit")
    assert len(list(uws.files(job.id).results.iterdir())) <= 50


async def test_results_staged_back_past_the_quota_are_cut_at_the_end(tmp_path: Path) -> None:
    """A cluster engine brings the results back when the job ends: the last look applies."""
    manifest = demo_manifest(resources={"max_result_size": "8K"})
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit(manifest=manifest)
        await uws.executing(job.id)
        await uws.engine.finish(job.id, results={"small.txt": "x" * 100,
                                                 "big.txt": "y" * 8000})
        ended = await uws.reached(job.id, *ENDED)
    assert ended.phase is Phase.ERROR and ended.exit_code == 0
    assert ended.error_message in (  # the two files were written in the same instant
        "the results passed the quota of 8K; 1 file (8K) was removed: big.txt",
        "the results passed the quota of 8K; 2 files (12K) were removed: big.txt, small.txt")
    assert not (uws.files(job.id).results / "big.txt").exists()


async def test_results_within_the_quota_are_kept(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_result_size="8K") as uws:
        job = uws.submit()
        await uws.executing(job.id)
        await uws.engine.finish(job.id, results={"exact.txt": "x" * 8192})
        ended = await uws.reached(job.id, *ENDED)
    assert ended.phase is Phase.COMPLETED
    assert ended.results[0] == JobResult("exact.txt", 8192, "text/plain")


class FullDiskEngine(FakeEngine):
    """Its logs land on a job file system that is full."""

    async def collect_logs(self, handle: str, stdout: Path, stderr: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


class LostLogsEngine(FakeEngine):
    async def collect_logs(self, handle: str, stdout: Path, stderr: Path) -> None:
        raise EngineError("the daemon went away")


async def test_a_full_disk_while_collecting_logs_ends_the_job_in_error(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, engine=FullDiskEngine()) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        await uws.engine.finish(job.id, results={"a.txt": "a"})
        ended = await uws.reached(job.id, *ENDED)
    assert ended.phase is Phase.ERROR
    assert ended.error_message == "the job file system is full (collecting its logs)"
    assert [r.id for r in ended.results] == ["a.txt"], "the results still count"


async def test_an_engine_that_loses_the_logs_still_completes_the_job(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, engine=LostLogsEngine()) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        await uws.engine.finish(job.id)
        assert (await uws.reached(job.id, *ENDED)).phase is Phase.COMPLETED


@pytest.mark.parametrize(("failure", "message"), [
    (OSError(errno.ENOSPC, "No space left on device"),
     "the job could not start: the job file system is full (preparing its files)"),
    (OSError(errno.EIO, "Input/output error"),
     "the job could not start: preparing its files failed: Input/output error"),
])
async def test_failing_to_prepare_the_files_ends_the_job_in_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: OSError,
        message: str) -> None:
    def prepare(*_: Any) -> None:
        raise failure

    monkeypatch.setattr("innerspace.uws.runner.prepare", prepare)
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        ended = await uws.reached(job.id, *ENDED)
    assert (ended.phase, ended.error_message) == (Phase.ERROR, message)
    assert uws.engine.started == []


async def test_failing_to_list_the_results_ends_the_job_in_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def scan(_: JobFiles) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        monkeypatch.setattr(JobFiles, "scan_results", scan)
        await uws.engine.finish(job.id)
        ended = await uws.reached(job.id, *ENDED)
    assert ended.error_message == "the job file system is full (listing its results)"


async def test_a_job_does_not_start_without_room(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, min_free_disk=1024**5) as uws:  # a pebibyte
        job = uws.submit()
        ended = await uws.reached(job.id, *ENDED)
    assert ended.phase is Phase.ERROR
    assert (ended.error_message or "").startswith("the job could not start: the job file "
                                                  "system has ")
    assert (ended.error_message or "").endswith(" free, less than the 1024T it keeps free "
                                                "for jobs to start")
    assert uws.engine.pulled == [], "refused before anything was pulled or started"


async def test_stored_bytes_are_reserved_while_running_and_measured_at_the_end(
        tmp_path: Path) -> None:
    manifest = demo_manifest(resources={"max_result_size": "8M"})
    catalogue = DemoCatalogue(manifest)
    async with UWSHarness(tmp_path, catalogue=catalogue, log_size="1M") as uws:
        uws.engine.hold_pulls()
        created = await uws.service.create(Caller(None), request_to_run())
        assert uws.job(created.id).stored_bytes == 0, "queued: nothing stored yet"
        uws.engine.release_pulls()
        running = await uws.executing(created.id)
        await uws.engine.finish(created.id, results={"r.txt": "x" * 5000}, stdout="out\n")
        ended = await uws.reached(created.id, *ENDED)
    assert 9 * MiB <= running.stored_bytes < 9 * MiB + 64 * 1024, "its result quota and logs"
    assert ended.phase is Phase.COMPLETED
    assert 5000 + 4 < ended.stored_bytes < 64 * 1024, "what its files take now"


async def test_an_aborted_running_job_gives_back_its_reservation(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        assert (await uws.executing(job.id)).stored_bytes > 1024**3, "1G and the logs"
        await uws.service.abort(Caller(None), job.id)
        ended = uws.job(job.id)
    assert ended.phase is Phase.ABORTED and ended.stored_bytes < 64 * 1024


def request_to_run() -> Any:
    from innerspace.uws.request import JobRequest

    return JobRequest.from_fields([("app", "demo"), ("PHASE", "RUN")])


async def test_a_job_whose_files_cannot_all_go_is_deleted_all_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    def remove(files: JobFiles) -> None:
        raise OSError(errno.EACCES, f"could not remove {files.root}/results/x: denied")

    async with UWSHarness(tmp_path) as uws:
        job = uws.add(Phase.COMPLETED)
        monkeypatch.setattr(JobFiles, "remove", remove)
        await uws.service.delete(Caller(None), job.id)
        assert uws.store.get(job.id) is None
    assert f"job {job.id}: its files could not all be removed" in caplog.text
