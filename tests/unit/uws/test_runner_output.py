"""The runner's live tail of a running job's output, on the fake engine: what the app writes
to stdout and stderr is read while it runs (by cursor, waking the reader), and the tail is
freed when the run ends; progress lines still become the job's message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from innerspace.runtime import PROGRESS_PREFIX
from innerspace.uws.liveoutput import OutputBatch
from innerspace.uws.phases import Phase
from innerspace.uws.runner import JobRunner
from tests.support.fake_engine import PATIENCE
from tests.support.uws_harness import UWSHarness

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def lines_after(runner: JobRunner, job_id: str, cursor: int, count: int
                      ) -> OutputBatch:
    """The next `count` lines after `cursor`, woken by the runner (no polling)."""
    async with asyncio.timeout(PATIENCE):
        while True:
            woken = runner.watch_output(job_id)  # before reading: no line slips by
            batch = runner.live_output(job_id, cursor)
            assert batch is not None and woken is not None, "the job has no live tail"
            if len(batch.lines) >= count:
                return batch
            await woken.wait()


async def test_stdout_and_stderr_are_read_while_the_job_runs(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job_id = uws.submit().id
        assert uws.runner.live_output(job_id) is None  # queued: nothing to follow yet
        await uws.executing(job_id)
        await uws.engine.say(job_id, "hello")
        await uws.engine.say(job_id, "careful", stderr=True)
        first = await lines_after(uws.runner, job_id, 0, 2)
        assert sorted((line.stream, line.text) for line in first.lines) == [
            ("stderr", "careful"), ("stdout", "hello")]

        await uws.engine.say(job_id, f"{PROGRESS_PREFIX} 0.5 halfway")
        later = await lines_after(uws.runner, job_id, first.cursor, 1)
        assert [line.text for line in later.lines] == [f"{PROGRESS_PREFIX} 0.5 halfway"]
        assert later.cursor == first.cursor + 1, "no line twice"
        assert uws.job(job_id).message == "progress 50%: halfway"  # still the job's message

        await uws.engine.finish(job_id)
        job = await uws.reached(job_id, Phase.COMPLETED)
        assert uws.runner.live_output(job_id) is None, "the tail goes with the run"
        assert uws.runner.watch_output(job_id) is None
        assert uws.runner.live_tails == 0
    assert job.phase is Phase.COMPLETED


async def test_a_reader_waiting_for_lines_is_woken_by_the_end(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job_id = uws.submit().id
        await uws.executing(job_id)
        woken = uws.runner.watch_output(job_id)
        assert woken is not None and not woken.is_set()
        await uws.engine.finish(job_id)
        await asyncio.wait_for(woken.wait(), PATIENCE)
        await uws.reached(job_id, Phase.COMPLETED)
        assert uws.runner.live_output(job_id) is None
