"""Jobs for the job pages' tests: made through the UWS API of a PortalService, and ended by
its fake engine (on the service's own event loop) with the results a test gives."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from typing import Any

import httpx

from tests.support.portal import PortalService
from tests.support.uws_harness import UWSHarness


def on_loop(service: PortalService, work: Coroutine[Any, Any, Any]) -> Any:
    """Run `work` on the service's event loop (where its fake engine lives)."""
    loop = service._server.server._loop if service._server else None
    assert loop is not None, "the service is not running"
    return asyncio.run_coroutine_threadsafe(work, loop).result(60)


def harness(service: PortalService) -> UWSHarness:
    """The job machinery of the running service."""
    assert service.harness is not None, "the service is not running"
    return service.harness


def make_job(http: httpx.Client, app: str = "demo:1.0", **params: str) -> str:
    """A job of `app`, queued to run (its id)."""
    defaults = {"count": "2"} if app.startswith("demo") else {}
    answer = http.post("/jobs", data={"app": app, "PHASE": "RUN", **defaults, **params})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).rsplit("/", 1)[-1]


def started(service: PortalService, job_id: str) -> None:
    engine = harness(service).engine
    on_loop(service, engine.until(lambda: engine.has_container(job_id)))


def finish(service: PortalService, job_id: str, results: dict[str, str] | None = None,
           exit_code: int = 0, stdout: str = "", stderr: str = "") -> None:
    """End the job's app (once its container started) and wait for the job's end."""
    started(service, job_id)
    engine = harness(service).engine
    on_loop(service, engine.finish(job_id, exit_code, stdout=stdout, stderr=stderr,
                                   results=results))
    store = harness(service).store

    async def final() -> None:
        for _ in range(6000):
            job = store.get(job_id)
            if job is not None and job.phase.is_final:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"job {job_id} did not end")

    on_loop(service, final())


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)
