"""The job runner on the fake engine: the FIFO queue and its running-job limit, aborts at
every stage, how a run ends (completed, failed, out of memory, over time, engine failure),
recovery after a restart, destruction. No Docker; nothing waits on time except the one
execution-duration test, which waits for its 1-second limit to pass."""

from __future__ import annotations

import asyncio
import operator
from functools import partial
from pathlib import Path

import pytest

from innerspace.engines.base import EngineError
from innerspace.units import format_memory, parse_memory
from innerspace.uws.errors import PhaseConflict
from innerspace.uws.phases import Phase
from innerspace.uws.runner import QueueState, RecoveryError
from innerspace.uws.xml import job_document
from tests.support.uws_harness import UWSHarness, demo_manifest

pytestmark = pytest.mark.anyio

ENDED = (Phase.COMPLETED, Phase.ERROR, Phase.ABORTED)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- the queue -----------------------------------------------------------------------------


async def test_jobs_start_in_submission_order_within_the_running_limit(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_running_jobs=2) as uws:
        images = [f"sha256:{n:064d}" for n in range(5)]  # to tell the jobs' pulls apart
        jobs = [uws.submit(image=image).id for image in images]
        await uws.engine.until(lambda: len(uws.engine.started) == 2)
        # Two slots: the first two jobs start together, in whichever order they get ready.
        assert sorted(uws.engine.started) == sorted(jobs[:2])
        assert [uws.job(j).phase for j in jobs[2:]] == [Phase.QUEUED] * 3
        assert uws.runner.queue_state(jobs[4]) == QueueState(ahead=2, running=2, slots=2)

        for finished, following in zip(jobs, jobs[2:], strict=False):
            await uws.executing(finished)
            await uws.engine.finish(finished)
            await uws.engine.until(partial(operator.contains, uws.engine.started, following))
        for job_id in jobs[3:]:
            await uws.executing(job_id)
            await uws.engine.finish(job_id)
        ended = [await uws.reached(j, *ENDED) for j in jobs]
    # The first two get ready in either order (each looks at the disk in a thread first).
    assert sorted(uws.engine.pulled[:2]) == images[:2]
    assert uws.engine.pulled[2:] == images[2:], "first in, first out"
    assert uws.engine.started[2:] == jobs[2:]
    assert uws.engine.peak == 2, "never more than the limit at once"
    assert [job.phase for job in ended] == [Phase.COMPLETED] * 5


def test_queue_state_counts_rounds() -> None:
    assert QueueState(ahead=0, running=0, slots=2).rounds == 1
    assert QueueState(ahead=0, running=2, slots=2).rounds == 2
    assert QueueState(ahead=3, running=2, slots=2).rounds == 3


async def test_queue_state_of_a_job_not_queued_counts_the_whole_queue(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_running_jobs=1) as uws:
        running = uws.submit()
        queued = [uws.submit().id for _ in range(2)]
        await uws.executing(running.id)
        assert uws.runner.queue_state(queued[1]) == QueueState(1, 1, 1)
        assert uws.runner.queue_state("notqueuedatall00") == QueueState(2, 1, 1)
        await uws.engine.finish(running.id)
        for job_id in queued:
            await uws.executing(job_id)
            await uws.engine.finish(job_id)
            await uws.reached(job_id, Phase.COMPLETED)


# -- how a run ends ------------------------------------------------------------------------


async def test_a_completed_run_lists_results_then_logs(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        running = await uws.executing(job.id)
        assert running.container == uws.engine.container_of(job.id).handle
        params = uws.files(job.id).params.read_text()
        assert '"name": "Ada"' in params
        await uws.engine.finish(job.id, stdout="hi\n", results={"out/a.txt": "A",
                                                                 "b.fits": "B"})
        done = await uws.reached(job.id, *ENDED)
        await uws.engine.until(lambda: uws.engine.container_of(job.id).removed)
    assert done.phase is Phase.COMPLETED
    assert done.exit_code == 0 and done.error_message is None and done.message is None
    assert [(r.id, r.mime_type) for r in done.results] == [
        ("b.fits", "application/fits"), ("out/a.txt", "text/plain"),
        ("stdout", "text/plain"), ("stderr", "text/plain")]
    assert done.end_time is not None and done.start_time is not None
    assert done.end_time >= done.start_time


async def test_a_failing_app_is_an_error_quoting_its_stderr(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        await uws.engine.finish(job.id, 3, stderr="Traceback...\nValueError: no stars\n")
        failed = await uws.reached(job.id, *ENDED)
    assert failed.phase is Phase.ERROR and failed.error_type == "fatal"
    assert failed.exit_code == 3
    assert failed.error_message == ("the application exited with status 3: "
                                    "Traceback...\nValueError: no stars")


async def test_running_out_of_memory_is_an_error_naming_the_limit(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_memory="4G") as uws:
        job = uws.submit()
        await uws.executing(job.id)
        await uws.engine.run_out_of_memory(job.id)
        failed = await uws.reached(job.id, *ENDED)
    assert failed.phase is Phase.ERROR
    limit = format_memory(parse_memory("512M"))  # the app's own, below the server's cap
    assert failed.error_message == f"the application ran out of memory (limit {limit})"


async def test_an_engine_failure_is_an_error_with_its_reason_and_no_exit_code(
        tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        await uws.engine.fail(job.id, "node n2 was drained while the job ran")
        failed = await uws.reached(job.id, *ENDED)
    assert failed.phase is Phase.ERROR
    assert failed.error_message == "the job failed: node n2 was drained while the job ran"
    assert failed.exit_code is None
    document = job_document(failed, "http://example.org/jobs/x", None)
    assert b"exitCode" not in document and b"node n2 was drained" in document


async def test_overrunning_the_execution_duration_is_an_error(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit(execution_duration=1)
        await uws.executing(job.id)
        # The container never ends by itself: only the runner's deadline can end it.
        failed = await uws.reached(job.id, *ENDED)
        handle = uws.engine.container_of(job.id).handle
    assert failed.phase is Phase.ERROR
    assert failed.error_message == ("the job exceeded its execution duration of 1 s and "
                                    "was stopped")
    assert handle in uws.engine.stopped


async def test_a_job_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        uws.engine.start_error = EngineError("no room on any node")
        failed = await uws.reached(uws.submit().id, *ENDED)
    assert failed.phase is Phase.ERROR
    assert failed.error_message == "the job could not start: no room on any node"
    assert uws.engine.started == []


async def test_an_image_from_elsewhere_is_refused(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        failed = await uws.reached(uws.submit(image="evil.example/x:1").id, *ENDED)
    assert failed.phase is Phase.ERROR
    assert "not from an allowed registry" in (failed.error_message or "")
    assert uws.engine.pulls == 0


# -- abort ---------------------------------------------------------------------------------


async def test_abort_a_queued_job(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_running_jobs=1) as uws:
        first, queued, after = uws.submit(), uws.submit(), uws.submit()
        await uws.executing(first.id)
        await uws.runner.abort(uws.job(queued.id))
        assert uws.job(queued.id).phase is Phase.ABORTED
        assert uws.runner.queue_state(after.id).ahead == 0, "out of the queue"
        await uws.engine.finish(first.id)
        await uws.executing(after.id)
        await uws.engine.finish(after.id)
        await uws.reached(after.id, Phase.COMPLETED)
    assert uws.engine.started == [first.id, after.id]


async def test_abort_a_pending_job(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.add(Phase.PENDING)
        await uws.runner.abort(job, "not wanted")
        aborted = uws.job(job.id)
    assert aborted.phase is Phase.ABORTED and aborted.error_message == "not wanted"
    assert aborted.end_time is not None


async def test_abort_a_job_while_it_starts(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        uws.engine.hold_pulls()
        job = uws.submit()
        await uws.engine.until(lambda: uws.engine.pulls == 1)
        assert uws.job(job.id).message == f"pulling {job.image}", "shown while it starts"
        aborting = asyncio.create_task(uws.runner.abort(uws.job(job.id)))
        await asyncio.sleep(0)  # no time passes: the abort runs up to its wait for the start
        assert not aborting.done()
        uws.engine.release_pulls()
        await aborting
        aborted = uws.job(job.id)
    assert aborted.phase is Phase.ABORTED and aborted.message is None
    assert uws.engine.started == [], "no container was started for it"


async def test_abort_an_executing_job(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        handle = uws.engine.container_of(job.id).handle
        await uws.runner.abort(uws.job(job.id))
        aborted = uws.job(job.id)
        await uws.engine.until(lambda: uws.engine.container_of(job.id).removed)
    assert aborted.phase is Phase.ABORTED
    assert handle in uws.engine.stopped
    assert [r.id for r in aborted.results] == ["stdout", "stderr"], "its logs are kept"


async def test_an_ended_job_cannot_be_aborted(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        await uws.engine.finish(job.id)
        done = await uws.reached(job.id, *ENDED)
        with pytest.raises(PhaseConflict):
            await uws.runner.abort(done)
    assert uws.job(job.id).phase is Phase.COMPLETED


async def test_an_abort_arriving_after_the_end_leaves_the_end(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        seen = await uws.executing(job.id)  # what the abort request read
        await uws.engine.finish(job.id)
        await uws.reached(job.id, *ENDED)
        await uws.runner.abort(seen)  # no exception: the job had already ended
        await uws.engine.until(lambda: uws.engine.container_of(job.id).removed)
    assert uws.job(job.id).phase is Phase.COMPLETED


@pytest.mark.parametrize("abort_first", [True, False])
async def test_an_abort_meeting_a_natural_end_ends_once(tmp_path: Path,
                                                        abort_first: bool) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        seen = await uws.executing(job.id)
        changes: list[Phase] = []
        racers = [uws.runner.abort(seen), uws.engine.finish(job.id)]
        if not abort_first:
            racers.reverse()
        watcher = asyncio.create_task(_record_phases(uws, job.id, changes))
        await asyncio.gather(*racers)
        ended = await uws.reached(job.id, *ENDED)
        await uws.engine.until(lambda: uws.engine.container_of(job.id).removed)
        watcher.cancel()
    assert ended.phase in (Phase.ABORTED, Phase.COMPLETED)
    assert [p for p in changes if p.is_final] == [ended.phase], "one final phase, kept"


async def _record_phases(uws: UWSHarness, job_id: str, changes: list[Phase]) -> None:
    while True:
        event = uws.notifier.watch(job_id)
        await event.wait()
        job = uws.store.get(job_id)
        if job is not None:
            changes.append(job.phase)


# -- recovery ------------------------------------------------------------------------------


async def test_recovery_reattaches_fails_lost_requeues_and_cleans_up(tmp_path: Path) -> None:
    uws = UWSHarness(tmp_path, max_running_jobs=2)
    engine, service_id = uws.engine, uws.settings.service_id
    # What the database and the engine hold when the service comes back.
    alive = uws.add(Phase.EXECUTING)
    uws.store.update(alive.id, container=engine.plant(alive.id, service_id))
    ended_meanwhile = uws.add(Phase.EXECUTING)
    finished = engine.plant(ended_meanwhile.id, service_id, running=False)
    lost = uws.add(Phase.EXECUTING, container="gone")
    queued = [uws.add(Phase.QUEUED) for _ in range(3)]
    half_started = engine.plant(queued[0].id, service_id)  # started just before a crash
    leftover = engine.plant("deleteddeleted00", service_id)
    foreign = engine.plant("otherservicejob0", "another-service")

    async with uws:
        assert (await uws.reached(lost.id, *ENDED)).error_message == (
            "the job's container was lost while the service was down")
        collected = await uws.reached(ended_meanwhile.id, *ENDED)
        assert collected.phase is Phase.COMPLETED, "it ended while nobody watched"
        assert uws.job(alive.id).phase is Phase.EXECUTING, "re-attached, still running"
        await engine.until(lambda: all(engine.containers[handle].removed for handle in
                                       (finished, half_started, leftover)))
        assert not engine.containers[foreign].removed, "another service's container"
        # The re-attached job holds one slot; the queue starts in its order in the other.
        await engine.until(lambda: queued[0].id in engine.started)
        assert engine.started == [queued[0].id]
        await engine.finish(alive.id)
        assert (await uws.reached(alive.id, *ENDED)).phase is Phase.COMPLETED
        await uws.executing(queued[1].id)  # the slot the re-attached job held
        await engine.finish(queued[0].id)
        await uws.executing(queued[2].id)
        for job in queued[1:]:
            await engine.finish(job.id)
            await uws.reached(job.id, Phase.COMPLETED)
    assert engine.started == [job.id for job in queued]


async def test_a_restart_keeps_running_and_queued_jobs(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_running_jobs=1) as before:
        engine = before.engine
        running, queued = before.submit(), before.submit()
        await before.executing(running.id)
    # The service went down; its container did not.
    assert engine.running_jobs() == [running.id]
    async with UWSHarness(tmp_path, engine=engine, max_running_jobs=1) as after:
        assert after.job(running.id).phase is Phase.EXECUTING
        assert after.runner.queue_state(queued.id).ahead == 0
        await engine.finish(running.id, results={"r.txt": "r"})
        done = await after.reached(running.id, *ENDED)
        await after.executing(queued.id)
        await engine.finish(queued.id)
        await after.reached(queued.id, Phase.COMPLETED)
    assert done.phase is Phase.COMPLETED and done.results[0].id == "r.txt"
    assert engine.started == [running.id, queued.id], "each started once"


async def test_no_recovery_without_the_engines_list(tmp_path: Path) -> None:
    harness = UWSHarness(tmp_path)
    harness.engine.find_error = EngineError("the daemon does not answer")
    with pytest.raises(RecoveryError, match="the daemon does not answer"):
        async with harness:
            pass


# -- destruction and deletion ----------------------------------------------------------------


async def test_destruction_removes_the_job_its_container_and_files(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        await uws.engine.finish(job.id, results={"a.txt": "A"})
        await uws.reached(job.id, *ENDED)
        assert uws.files(job.id).root.is_dir()
        uws.store.update(job.id, destruction=0.0)
        uws.runner.destruction_set(0.0)
        await uws.gone(job.id)
        await uws.engine.until(lambda: uws.engine.container_of(job.id).removed)
    assert not uws.files(job.id).root.exists()


async def test_forgetting_an_executing_job_stops_it_first(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = uws.submit()
        await uws.executing(job.id)
        handle = uws.engine.container_of(job.id).handle
        await uws.runner.forget(uws.job(job.id))
        assert uws.store.get(job.id) is None
    assert handle in uws.engine.stopped and uws.engine.containers[handle].removed
    assert not uws.files(job.id).root.exists()


def test_demo_manifest_is_valid() -> None:
    assert demo_manifest().resources.memory_bytes == parse_memory("512M")
