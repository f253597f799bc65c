"""What the job machinery records (uws/runner.py, uws/service.py), on the fake engine: a
created job, its wait and run, its end by phase, an engine that fails to start a job; and
the log lines of a job's task name the job, not the request that happened to start it."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from innerspace.auth import Caller
from innerspace.engines.base import EngineError
from innerspace.observability import ServiceMetrics, configure_logging
from innerspace.observability.context import RequestInfo, enter_request, leave_request
from innerspace.uws.phases import Phase
from innerspace.uws.request import JobRequest
from innerspace.uws.runner import JobRunner
from innerspace.uws.service import JobService
from tests.support.uws_harness import DemoCatalogue, UWSHarness

pytestmark = pytest.mark.anyio
ALICE = Caller("alice", how="token")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def wired(data_dir: Path, metrics: ServiceMetrics) -> UWSHarness:
    """The harness's runner and service, recording into `metrics` as the server wires them."""
    uws = UWSHarness(data_dir)
    uws.runner = JobRunner(uws.settings, uws.store, uws.engine, uws.notifier, metrics=metrics)
    uws.service = JobService(uws.settings, uws.store, DemoCatalogue(), uws.runner,
                             uws.notifier, metrics=metrics)
    return uws


def value(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def test_a_job_is_counted_from_creation_to_its_end(tmp_path: Path) -> None:
    metrics = ServiceMetrics()
    async with wired(tmp_path, metrics) as uws:
        metrics.watch_jobs([p.value for p in Phase], uws.store.phase_totals,
                           lambda: uws.runner.queue_length)
        request = JobRequest.from_fields([("app", "demo"), ("count", "1"), ("PHASE", "RUN")])
        job = await uws.service.create(ALICE, request)
        await uws.executing(job.id)
        assert value(metrics, "innerspace_jobs", phase="EXECUTING") == 1
        assert value(metrics, "innerspace_job_wait_seconds_count", app="demo") == 1
        await uws.engine.finish(job.id)
        await uws.reached(job.id, Phase.COMPLETED)
    assert value(metrics, "innerspace_jobs_created_total", app="demo") == 1
    assert value(metrics, "innerspace_jobs_ended_total", app="demo", phase="COMPLETED") == 1
    assert value(metrics, "innerspace_job_run_seconds_count", app="demo") == 1
    assert value(metrics, "innerspace_queue_length") == 0


async def test_an_engine_failure_is_counted_and_logged_with_its_job(tmp_path: Path) -> None:
    metrics = ServiceMetrics()
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("json", "info", stream)
    try:
        async with wired(tmp_path, metrics) as uws:
            uws.engine.start_error = EngineError("the engine said no")
            token = enter_request(RequestInfo("the-request"))  # as if a request queued it
            try:
                job = uws.submit()
            finally:
                leave_request(token)
            await uws.reached(job.id, Phase.ERROR)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert value(metrics, "innerspace_engine_errors_total", operation="start") == 1
    assert value(metrics, "innerspace_jobs_ended_total", app="demo", phase="ERROR") == 1
    assert value(metrics, "innerspace_job_run_seconds_count", app="demo") is None
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (warning,) = [line for line in lines if "could not start" in line["message"]]
    assert warning["job_id"] == job.id and "request_id" not in warning
