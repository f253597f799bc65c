"""UWS 1.1 conformance: running a job (at creation or later), aborting it in each phase,
and the queue, which starts jobs one at a time in submission order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.services import LiveService
from tests.support.uwsclient import (
    JobDoc,
    UWSClient,
    assert_see_other,
)

LONG = "3600"  # seconds: a job that only an abort ends within a test

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
    # Far longer than the test: the job is EXECUTING when seen (never a phase caught in
    # passing), and ABORTED can only come from the abort.
    url = client.create(app="hello", delay=LONG, PHASE="RUN")
    client.wait_for(url, {"EXECUTING"})
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "ABORT"}), url)
    doc = client.wait_for(url, timeout=60)
    assert doc.phase == "ABORTED"
    assert "greeting.txt" not in doc.results


def test_abort_queued_job(make_service: Callable[..., LiveService], xml_schemas: Any) -> None:
    live = make_service(limits={"max_running_jobs": 1})
    with UWSClient(live, xml_schemas) as client:
        blocker = client.create(app="hello", delay=LONG, PHASE="RUN")
        client.wait_for(blocker, {"EXECUTING"})
        queued = client.create(app="hello", PHASE="RUN")
        assert client.phase(queued) == "QUEUED"  # the one slot is the blocker's until aborted
        assert_see_other(client.post(f"{queued}/phase", {"PHASE": "ABORT"}), queued)
        doc = client.wait_for(queued, timeout=30)
        assert doc.phase == "ABORTED"
        assert doc.time("startTime") is None
        assert client.phase(blocker) == "EXECUTING"  # the other job is untouched
        assert_see_other(client.post(f"{blocker}/phase", {"PHASE": "ABORT"}), blocker)
        assert client.wait_for(blocker, timeout=60).phase == "ABORTED"


# -- the queue -------------------------------------------------------------------------------

def test_queue_runs_jobs_in_submission_order(make_service: Callable[..., LiveService],
                                             xml_schemas: Any) -> None:
    """With one slot, jobs start in the order they were queued, one at a time. The order is
    read from the times each job records, never from a phase seen in passing: the first job
    holds the slot (it would run for longer than the test) until it is aborted, so the
    others are surely QUEUED meanwhile, and then run to their end."""
    live = make_service(limits={"max_running_jobs": 1})
    with UWSClient(live, xml_schemas) as client:
        urls = [client.create(app="hello", delay=LONG if i == 0 else "1", name=f"n{i}",
                              PHASE="RUN") for i in range(3)]
        client.wait_for(urls[0], {"EXECUTING"})
        for url in urls[1:]:
            doc = client.job(url)
            assert (doc.phase, doc.time("startTime")) == ("QUEUED", None), doc.raw
        assert_see_other(client.post(f"{urls[0]}/phase", {"PHASE": "ABORT"}), urls[0])
        docs: list[JobDoc] = [client.wait_for(u, timeout=120) for u in urls]
        assert [d.phase for d in docs] == ["ABORTED", "COMPLETED", "COMPLETED"]
        starts = [d.instant("startTime") for d in docs]
        ends = [d.instant("endTime") for d in docs]
        assert starts[0] < starts[1] < starts[2]
        assert starts[1] >= ends[0] and starts[2] >= ends[1]  # one at a time
