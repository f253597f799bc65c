"""UWS 1.1 conformance as pyvo sees it: it parses the job document in every phase and
runs a job with its AsyncTAPJob, every document it fetches schema-checked too."""

from __future__ import annotations

import io
from typing import Any

from tests.support.uwsclient import (
    UWSClient,
    assert_see_other,
    job_id_of,
    validating_requests_session,
)

# -- pyvo as a real client ----------------------------------------------------------------

def test_pyvo_parses_jobs_in_every_phase(client: UWSClient) -> None:
    from pyvo.io.uws import parse_job

    documents: dict[str, tuple[str, bytes]] = {}  # phase -> (job URL, job document)
    pending = client.create(app="hello", name="pyvo")
    documents["PENDING"] = pending, client.job(pending).raw
    # Only an abort ends this one within the test, so EXECUTING is surely seen.
    running = client.create(app="hello", delay="3600", PHASE="RUN")
    documents["EXECUTING"] = running, client.wait_for(running, {"EXECUTING"}).raw
    assert_see_other(client.post(f"{running}/phase", {"PHASE": "ABORT"}), running)
    finished, doc = client.run(app="hello")
    documents["COMPLETED"] = finished, doc.raw
    failing = client.create(app="hello", delay="30", EXECUTIONDURATION="1", PHASE="RUN")
    documents["ERROR"] = failing, client.wait_for(failing, timeout=60).raw
    assert_see_other(client.post(f"{pending}/phase", {"PHASE": "ABORT"}), pending)
    documents["ABORTED"] = pending, client.wait_for(pending).raw
    assert client.wait_for(running, timeout=60).phase == "ABORTED"

    for phase, (url, raw) in documents.items():
        job = parse_job(io.BytesIO(raw), pedantic=True)
        assert job.phase == phase
        assert job.jobid == job_id_of(url)
        assert job.version == "1.1"
    completed = parse_job(io.BytesIO(documents["COMPLETED"][1]), pedantic=True)
    assert {r.id_ for r in completed.results} == {"greeting.txt", "stdout", "stderr"}
    errored = parse_job(io.BytesIO(documents["ERROR"][1]), pedantic=True)
    assert "execution duration" in errored.errorsummary.message.content.lower()


def test_pyvo_async_job_waits_and_reads_results(client: UWSClient, xml_schemas: Any) -> None:
    from pyvo.dal.tap import AsyncTAPJob

    url = client.create(app="hello", name="pyvo", delay="1", PHASE="RUN")
    session = validating_requests_session(xml_schemas)
    job = AsyncTAPJob(url, session=session, delete=False)
    job.wait(timeout=60)
    assert job.phase == "COMPLETED"
    assert job.job_id == job_id_of(url)
    assert f"{url}/results/greeting.txt" in job.result_uris
    assert {r.id_ for r in job.results} == {"greeting.txt", "stdout", "stderr"}
    greeting = next(r for r in job.results if r.id_ == "greeting.txt")
    assert client.get(greeting.href).text == "Hello, pyvo!\n"
    assert session.validated >= 2  # pyvo's own fetches were schema-checked too
