"""The per-owner storage quota through the job service: an owner whose jobs hold the quota
gets no new job and no new run (409, naming the quota and the usage) while other owners go
on; anonymous callers share one quota; queued jobs are checked again when they start, and
running jobs count at their result quota; deleting jobs makes room. Also: the owners' totals
the store keeps, uploads onto a full job file system (503), and the stored-bytes column that
migration 0004 adds."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from innerspace.auth import Caller
from innerspace.db import jobs, metadata, open_database
from innerspace.errors import Unavailable
from innerspace.uws.errors import StorageQuotaExceeded
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.parameters import PendingUpload, store_uploads
from innerspace.uws.phases import Phase
from innerspace.uws.request import JobRequest, Upload
from innerspace.uws.store import Job, JobStore, new_job_id
from tests.support.uws_harness import UWSHarness

pytestmark = pytest.mark.anyio

ENDED = (Phase.COMPLETED, Phase.ERROR, Phase.ABORTED)
MiB = 1024 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def demo(run: bool = True) -> JobRequest:
    return JobRequest.from_fields([("app", "demo"), *([("PHASE", "RUN")] if run else [])])


async def completed_with(uws: UWSHarness, owner: str | None, size: int) -> Job:
    """A job of `owner` that ran and left `size` bytes of results."""
    job = await uws.service.create(Caller(owner), demo())
    await uws.executing(job.id)
    await uws.engine.finish(job.id, results={"big.txt": "x" * size})
    return await uws.reached(job.id, *ENDED)


async def test_an_owner_over_the_quota_gets_no_new_job(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_storage_per_owner="1M") as uws:
        kept = await completed_with(uws, "alice", 2 * MiB)
        assert kept.phase is Phase.COMPLETED
        with pytest.raises(StorageQuotaExceeded) as refused:
            await uws.service.create(Caller("alice"), demo())
        pending_before = uws.store.count()
        with pytest.raises(StorageQuotaExceeded):
            await uws.service.create(Caller("alice"), demo(run=False))
        assert uws.store.count() == pending_before, "nothing stored"
        bobs = await uws.service.create(Caller("bob"), demo())  # another owner is unaffected
        await uws.executing(bobs.id)
        await uws.engine.finish(bobs.id)
        await uws.reached(bobs.id, *ENDED)
        await uws.service.delete(Caller("alice"), kept.id)
        again = await uws.service.create(Caller("alice"), demo())  # room again
        await uws.executing(again.id)
        await uws.engine.finish(again.id)
        await uws.reached(again.id, *ENDED)
    assert refused.value.status == 409 and refused.value.code == "storage-quota-exceeded"
    assert str(refused.value).startswith(
        "storage quota used up: the jobs of alice hold 2M of the 1M allowed")
    assert str(refused.value).endswith("delete jobs to make room")


async def test_a_pending_job_cannot_run_over_the_quota(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_storage_per_owner="1M") as uws:
        pending = await uws.service.create(Caller("alice"), demo(run=False))
        await completed_with(uws, "alice", 2 * MiB)
        with pytest.raises(StorageQuotaExceeded):
            uws.service.run(Caller("alice"), pending.id)
        with pytest.raises(StorageQuotaExceeded):
            await uws.service.update_parameters(Caller("alice"), pending.id,
                                                [("name", "Grace"), ("PHASE", "RUN")])
        unchanged = uws.job(pending.id)
    assert unchanged.phase is Phase.PENDING
    assert [p.value for p in unchanged.parameters] == [], "nothing changed"


async def test_anonymous_callers_share_one_quota(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_storage_per_owner="1M") as uws:
        await completed_with(uws, None, 2 * MiB)
        with pytest.raises(StorageQuotaExceeded, match="anonymous callers"):
            await uws.service.create(Caller(None), demo())


async def test_running_jobs_count_at_their_result_quota(tmp_path: Path) -> None:
    """Jobs queued while there was room are checked again when they start, and the jobs
    that run count at their result quota: together they cannot pass the owner's quota."""
    async with UWSHarness(tmp_path, max_storage_per_owner="3G", max_result_size="1G",
                          log_size="1M", max_running_jobs=4) as uws:
        uws.engine.hold_pulls()
        queued = [(await uws.service.create(Caller("alice"), demo())).id for _ in range(4)]
        uws.engine.release_pulls()  # all four start together; three fit
        ended = [j for j in queued if (await uws.reached(
            j, Phase.EXECUTING, Phase.ERROR)).phase is Phase.ERROR]
        assert len(ended) == 1, "3 x (1G + 1M) reach the 3G quota"
        message = uws.job(ended[0]).error_message or ""
        with pytest.raises(StorageQuotaExceeded, match="hold 3G of the 3G allowed"):
            await uws.service.create(Caller("alice"), demo())
        for job_id in queued:
            if job_id not in ended:
                await uws.engine.finish(job_id)
                await uws.reached(job_id, *ENDED)
        again = await uws.service.create(Caller("alice"), demo())  # they ended small: room again
        await uws.executing(again.id)
        await uws.engine.finish(again.id)
        await uws.reached(again.id, *ENDED)
    assert message.startswith("the job could not start: storage quota used up: the jobs of "
                              "alice hold 3G of the 3G allowed")


async def test_no_quota_when_it_is_turned_off(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_storage_per_owner=0, max_result_size="1G") as uws:
        jobs = [await uws.service.create(Caller("alice"), demo(run=False)) for _ in range(3)]
        for job in jobs:
            uws.store.update(job.id, stored_bytes=1024**5)  # as if huge
        extra = await uws.service.create(Caller("alice"), demo(run=False))
    assert extra.phase is Phase.PENDING


async def test_uploads_onto_a_full_file_system_answer_503(tmp_path: Path) -> None:
    files = JobFiles.of(tmp_path, "job")
    files.create()
    (files.inputs / "image-1.fits").symlink_to("/dev/full")  # every write: ENOSPC
    upload = PendingUpload("image", Upload("a.fits", io.BytesIO(b"x" * 5000)), "image-1.fits")
    with pytest.raises(Unavailable) as refused:
        store_uploads(files, [upload], 10_000)
    assert str(refused.value) == "the job file system is full (storing the uploads)"
    assert refused.value.status == 503
    assert not (files.inputs / "image-1.fits").exists(), "nothing half-written is left"


async def test_uploads_count_towards_the_stored_bytes(tmp_path: Path) -> None:
    from tests.support.uws_harness import DemoCatalogue, demo_manifest

    stats = demo_manifest(name="stats", parameters={"image": {"type": "file"}})
    async with UWSHarness(tmp_path, catalogue=DemoCatalogue(stats)) as uws:
        upload = Upload("a.fits", io.BytesIO(b"x" * 5000))
        job = await uws.service.create(Caller("alice"), JobRequest.from_fields(
            [("app", "stats"), ("image", upload)]))
        smaller = Upload("b.fits", io.BytesIO(b"y" * 100))
        await uws.service.update_parameters(Caller("alice"), job.id, [("image", smaller)])
        after = uws.job(job.id)
    assert job.stored_bytes >= 5000, "the upload and its directories"
    assert after.stored_bytes < job.stored_bytes, "the replaced upload went"


def make_job(owner: str | None, stored_bytes: int) -> Job:
    now = time.time()
    return Job(id=new_job_id(), owner=owner, phase=Phase.PENDING, app="demo",
               app_version="1.0", image="sha256:" + "a" * 64, manifest={}, creation_time=now,
               execution_duration=60, destruction=now + 3600, stored_bytes=stored_bytes)


def test_owner_totals_follow_every_write(tmp_path: Path) -> None:
    """The store keeps each owner's total in memory; it must always equal the sum over the
    table, also for a store opened afresh on the same database."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = JobStore.open(url)
    try:
        assert store.stored_bytes("alice") == 0  # loaded before the writes below
        first = store.insert(make_job(owner="alice", stored_bytes=100))
        second = store.insert(make_job(owner="alice", stored_bytes=50))
        store.insert(make_job(owner=None, stored_bytes=7))
        store.update(first.id, stored_bytes=1000)
        assert store.change_phase(second.id, Phase.PENDING, Phase.QUEUED, stored_bytes=60)
        assert not store.change_phase(second.id, Phase.PENDING, Phase.ERROR, stored_bytes=1)
        store.update(second.id, message="no change to the total")
        store.delete(first.id)
        store.delete("nosuchjob0000000")
        totals = (store.stored_bytes("alice"), store.stored_bytes(None),
                  store.stored_bytes("bob"))
        with store.engine.connect() as conn:
            summed = conn.execute(select(func.sum(jobs.c.stored_bytes))
                                  .where(jobs.c.owner == "alice")).scalar_one()
    finally:
        store.close()
    reopened = JobStore.open(url)
    try:
        assert (reopened.stored_bytes("alice"), reopened.stored_bytes(None)) == (60, 7)
    finally:
        reopened.close()
    assert totals == (60, 7, 0) and summed == 60


def test_the_migrations_give_the_tables_their_stored_bytes(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        with database.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
            columns = {c["name"] for c in database.dialect.get_columns(conn, "jobs")}
    finally:
        database.dispose()
    assert "stored_bytes" in columns
    assert differences == [], "the migrations make exactly the tables of db/tables.py"
