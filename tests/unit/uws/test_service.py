"""The job service on the fake engine: creating, running, waiting, quoting, aborting,
deleting and destroying jobs, and refusing bad input before anything is stored. No Docker,
no HTTP: the calls the route handlers make, made directly."""

from __future__ import annotations

import asyncio
import io
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from innerspace.auth import Caller
from innerspace.errors import BadRequest, NotFound, TooLarge
from innerspace.uws.errors import JobNotFound, PhaseConflict
from innerspace.uws.phases import Phase
from innerspace.uws.request import JobRequest, Upload
from innerspace.uws.store import Job
from tests.support.fake_engine import PATIENCE
from tests.support.uws_harness import DemoCatalogue, UWSHarness, demo_manifest

pytestmark = pytest.mark.anyio

ENDED = (Phase.COMPLETED, Phase.ERROR, Phase.ABORTED)
STATS = demo_manifest(name="stats", parameters={
    "image": {"type": "file", "required": True},
    "stretch": {"type": "enum", "choices": ["linear", "asinh"], "default": "asinh"}})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def harness(tmp_path: Path, **limits: Any) -> UWSHarness:
    return UWSHarness(tmp_path, catalogue=DemoCatalogue(demo_manifest(), STATS), **limits)


def request(*parameters: tuple[str, str | Upload], app: str = "demo",
            phase: str | None = None, **reserved: str) -> JobRequest:
    """A creation request as the form would give it (RUNID=..., DESTRUCTION=...)."""
    fields: list[tuple[str, str | Upload]] = [("app", app)]
    if phase is not None:
        fields.append(("PHASE", phase))
    fields += [*reserved.items(), *parameters]
    return JobRequest.from_fields(fields)


async def run_to_end(uws: UWSHarness, job: Job, **finish: Any) -> Job:
    await uws.executing(job.id)
    await uws.engine.finish(job.id, **finish)
    return await uws.reached(job.id, *ENDED)


# -- creating and running ------------------------------------------------------------------


async def test_create_with_run_queues_and_the_job_completes(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller("alice"), request(("name", "Bo"), phase="RUN",
                                                        RUNID="first"))
        assert job.phase is Phase.QUEUED and job.queued_at is not None
        done = await run_to_end(uws, job, results={"greeting.txt": "Hello, Bo!\n"})
        path, mime_type = uws.service.result_file(done, "greeting.txt")
    assert done.phase is Phase.COMPLETED and done.run_id == "first" and done.owner == "alice"
    assert path.read_text() == "Hello, Bo!\n" and mime_type == "text/plain"


async def test_a_pending_job_runs_on_request_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller(None), request(("count", "3")))
        assert job.phase is Phase.PENDING and uws.engine.pulls == 0
        queued = uws.service.run(Caller(None), job.id)
        assert queued.phase is Phase.QUEUED
        await uws.executing(job.id)
        assert uws.service.run(Caller(None), job.id).phase is Phase.EXECUTING, "a no-op"
        done = await run_to_end(uws, job)
        with pytest.raises(PhaseConflict):
            uws.service.run(Caller(None), job.id)
    assert done.phase is Phase.COMPLETED
    assert uws.engine.started == [job.id], "started once"


async def test_parameters_change_while_pending_and_run_with_them(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller(None), request(("name", "Ada")))
        changed = await uws.service.update_parameters(
            Caller(None), job.id, [("name", "Grace"), ("PHASE", "RUN"), ("RUNID", "again")])
        assert changed.phase is Phase.QUEUED and changed.run_id == "again"
        assert [(p.id, p.value) for p in changed.parameters] == [("name", "Grace")]
        await uws.executing(job.id)
        with pytest.raises(PhaseConflict):
            await uws.service.update_parameters(Caller(None), job.id, [("name", "late")])
        await run_to_end(uws, job)
    assert '"name": "Grace"' in uws.files(job.id).params.read_text()


async def test_uploads_are_stored_under_safe_names(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        upload = Upload("../m31 field.fits", io.BytesIO(b"SIMPLE  = T"))
        job = await uws.service.create(Caller(None), request(("image", upload), app="stats"))
        stored = uws.service.input_file(job, "image")
        with pytest.raises(NotFound):
            uws.service.input_file(job, "stretch")
    assert stored.parent == uws.files(job.id).inputs
    assert stored.name.startswith("image-") and stored.suffix == ".fits"
    assert stored.read_bytes() == b"SIMPLE  = T"
    assert job.parameters[0].value == "../m31 field.fits" and job.parameters[0].by_reference


@pytest.mark.parametrize(("parameters", "app", "message"), [
    ((("name", "x"),), "nosuch", "unknown app 'nosuch'"),
    ((("colour", "red"),), "demo", "unknown parameter 'colour' for app demo"),
    ((("count", "three"),), "demo", "parameter 'count'"),
    ((("name", "a"), ("NAME", "b")), "demo", "given more than once"),
    ((("stretch", "cubic"),), "stats", "parameter 'stretch'"),
    ((("image", "not a file"),), "stats", "is a file: upload it"),
    ((), "stats", "missing required parameter for app stats: image"),
])
async def test_bad_creation_stores_nothing(tmp_path: Path,
                                           parameters: tuple[tuple[str, str], ...],
                                           app: str, message: str) -> None:
    async with harness(tmp_path) as uws:
        with pytest.raises(BadRequest, match=message):
            await uws.service.create(Caller(None), request(*parameters, app=app))
        assert uws.store.count() == 0
    assert list(uws.settings.jobs_dir.iterdir()) == []


async def test_uploads_over_the_limit_leave_nothing_behind(tmp_path: Path) -> None:
    async with harness(tmp_path, max_upload_size=1000) as uws:
        upload = Upload("big.fits", io.BytesIO(b"x" * 5000))
        with pytest.raises(TooLarge, match="at parameter 'image'"):
            await uws.service.create(Caller(None), request(("image", upload), app="stats"))
        assert uws.store.count() == 0
    assert list(uws.settings.jobs_dir.iterdir()) == []


async def test_jobs_are_private_to_their_owner(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller("alice"), request())
        with pytest.raises(JobNotFound):
            uws.service.get(Caller("bob"), job.id)
        with pytest.raises(JobNotFound):
            uws.service.get(Caller(None), job.id)
        listed = uws.service.list_jobs(Caller("alice"), [], None, None)
        assert [ref.id for ref in listed] == [job.id]
        assert uws.service.list_jobs(Caller("bob"), [], None, None) == []


# -- WAIT and quotes -------------------------------------------------------------------------


async def test_wait_is_woken_by_a_phase_change(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller(None), request())
        waiting = asyncio.create_task(uws.service.wait(Caller(None), job.id, "600", None))
        await asyncio.sleep(0)  # no time passes: the WAIT runs up to its blocking point
        assert not waiting.done(), "a PENDING job blocks"
        uws.service.run(Caller(None), job.id)
        async with asyncio.timeout(PATIENCE):
            woken = await waiting
        assert woken.phase is not Phase.PENDING
        await run_to_end(uws, job)


async def test_wait_returns_at_once_when_it_cannot_block(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller(None), request())
        async with asyncio.timeout(PATIENCE):
            assert (await uws.service.wait(Caller(None), job.id, "600", "QUEUED")).phase is \
                Phase.PENDING, "PHASE names another phase"
            assert (await uws.service.wait(Caller(None), job.id, "0", None)).phase is Phase.PENDING
            await uws.service.abort(Caller(None), job.id)
            assert (await uws.service.wait(Caller(None), job.id, "600", None)).phase is \
                Phase.ABORTED, "a final phase"


async def test_wait_times_out_when_nothing_changes(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller(None), request())
        assert (await uws.service.wait(Caller(None), job.id, "1", None)).phase is Phase.PENDING


async def test_quotes_follow_the_queue(tmp_path: Path) -> None:
    async with harness(tmp_path, max_running_jobs=1) as uws:
        jobs = [await uws.service.create(Caller(None), request(phase="RUN")) for _ in range(3)]
        running = await uws.executing(jobs[0].id)
        quotes = [uws.service.quote(uws.job(job.id)) for job in jobs]
        for job in jobs:
            await run_to_end(uws, job)
        finished = uws.service.quote(uws.job(jobs[0].id))
    assert None not in quotes and finished is None
    first, second, third = (q or 0.0 for q in quotes)
    assert running.start_time is not None and first >= running.start_time
    # One typical run (60 s for an app never run before) per place in the queue.
    assert second - first >= 59 and third - second == pytest.approx(60, abs=1)


# -- abort, delete, destruction --------------------------------------------------------------


async def test_abort_through_the_service(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        pending = await uws.service.create(Caller(None), request())
        assert (await uws.service.abort(Caller(None), pending.id)).phase is Phase.ABORTED
        with pytest.raises(PhaseConflict):
            await uws.service.abort(Caller(None), pending.id)
        running = await uws.service.create(Caller(None), request(phase="RUN"))
        await uws.executing(running.id)
        assert (await uws.service.abort(Caller(None), running.id)).phase is Phase.ABORTED


async def test_delete_during_execution_stops_and_removes_everything(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller(None), request(phase="RUN"))
        await uws.executing(job.id)
        handle = uws.engine.container_of(job.id).handle
        waiting = asyncio.create_task(uws.service.wait(Caller(None), job.id, "600", None))
        await uws.service.delete(Caller(None), job.id)
        with pytest.raises(JobNotFound):
            uws.service.get(Caller(None), job.id)
        async with asyncio.timeout(PATIENCE):
            ended = await asyncio.gather(waiting, return_exceptions=True)
    seen = ended[0]  # the WAIT saw the job's end, or its deletion
    if isinstance(seen, Job):
        assert seen.phase is Phase.ABORTED
    else:
        assert isinstance(seen, JobNotFound)
    assert handle in uws.engine.stopped and uws.engine.containers[handle].removed
    assert not uws.files(job.id).root.exists()


async def test_destruction_time_set_through_the_service_destroys(tmp_path: Path) -> None:
    async with harness(tmp_path) as uws:
        job = await uws.service.create(Caller(None), request(phase="RUN"))
        await run_to_end(uws, job, results={"a.txt": "A"})
        soon = datetime.fromtimestamp(time.time() + 1, UTC).isoformat()
        assert uws.service.set_destruction(Caller(None), job.id, soon).destruction > time.time()
        await uws.gone(job.id)  # the reaper, woken for the sooner time
        handle = uws.engine.container_of(job.id).handle
        await uws.engine.until(lambda: uws.engine.containers[handle].removed)
    assert not uws.files(job.id).root.exists()
