"""UWS 1.1 conformance: running a job (at creation or later), aborting it in each phase,
and the queue, which starts jobs one at a time in submission order."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support.services import LiveService
from tests.support.uwsclient import (
    JobDoc,
    UWSClient,
    assert_see_other,
)

# -- running and aborting ----------------------------------------------------------------

def test_run_in_creating_post(client: UWSClient) -> None:
    url = client.create(app="hello", name="Eager", PHASE="RUN")
    assert client.phase(url) in ("QUEUED", "EXECUTING", "COMPLETED")
    doc = client.wait_for(url)
    assert doc.phase == "COMPLETED"
    assert doc.instant("startTime") <= doc.instant("endTime")


def test_run_later_on_pending_job(client: UWSClient) -> None:
    url = client.create(app="hello", name="Patient")
    assert client.phase(url) == "PENDING"
    assert client.job(url).time("startTime") is None
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "RUN"}), url)
    assert client.phase(url) != "PENDING"
    assert client.wait_for(url).phase == "COMPLETED"
    assert client.get(f"{url}/results/greeting.txt").text == "Hello, Patient!\n"


def test_abort_pending_job(client: UWSClient) -> None:
    url = client.create(app="hello")
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "ABORT"}), url)
    doc = client.wait_for(url)
    assert doc.phase == "ABORTED"
    assert doc.time("startTime") is None  # it never ran


def test_abort_executing_job(client: UWSClient) -> None:
    url = client.create(app="hello", delay="30", PHASE="RUN")
    client.wait_for(url, {"EXECUTING"})
    started = time.monotonic()
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "ABORT"}), url)
    doc = client.wait_for(url, timeout=20)
    assert doc.phase == "ABORTED"
    assert time.monotonic() - started < 15
    assert "greeting.txt" not in doc.results


def test_abort_queued_job(make_service: Callable[..., LiveService], xml_schemas: Any) -> None:
    live = make_service(limits={"max_running_jobs": 1})
    with UWSClient(live, xml_schemas) as client:
        blocker = client.create(app="hello", delay="30", PHASE="RUN")
        client.wait_for(blocker, {"EXECUTING"})
        queued = client.create(app="hello", PHASE="RUN")
        assert client.phase(queued) == "QUEUED"
        assert_see_other(client.post(f"{queued}/phase", {"PHASE": "ABORT"}), queued)
        doc = client.wait_for(queued, timeout=10)
        assert doc.phase == "ABORTED"
        assert doc.time("startTime") is None
        assert client.phase(blocker) == "EXECUTING"  # the other job is untouched
        assert_see_other(client.post(f"{blocker}/phase", {"PHASE": "ABORT"}), blocker)
        assert client.wait_for(blocker, timeout=20).phase == "ABORTED"


# -- the queue -------------------------------------------------------------------------------

def test_queue_runs_jobs_in_submission_order(make_service: Callable[..., LiveService],
                                             xml_schemas: Any) -> None:
    live = make_service(limits={"max_running_jobs": 1})
    with UWSClient(live, xml_schemas) as client:
        urls = [client.create(app="hello", delay="2", name=f"n{i}", PHASE="RUN")
                for i in range(3)]
        client.wait_for(urls[0], {"EXECUTING"})
        assert [client.phase(u) for u in urls[1:]] == ["QUEUED", "QUEUED"]
        for url in urls[1:]:
            assert client.job(url).time("startTime") is None
        docs: list[JobDoc] = [client.wait_for(u, timeout=60) for u in urls]
        assert [d.phase for d in docs] == ["COMPLETED"] * 3
        starts = [d.instant("startTime") for d in docs]
        ends = [d.instant("endTime") for d in docs]
        assert starts[0] < starts[1] < starts[2]
        assert starts[1] >= ends[0] and starts[2] >= ends[1]  # one at a time
