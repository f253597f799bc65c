"""UWS 1.1 conformance: the job list, as a document and with its PHASE, AFTER and LAST
filters, alone and combined."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

from tests.support.uwsclient import (
    UWS_NS,
    UWSClient,
    assert_see_other,
    iso_z,
    job_id_of,
    media_type,
    uws,
    xlink,
)

# -- the job list ------------------------------------------------------------------------

def test_job_list_document(client: UWSClient) -> None:
    url = client.create(app="hello", RUNID="listed")
    response = client.get("/jobs")
    assert response.status_code == 200
    assert media_type(response) in ("application/xml", "text/xml")
    root = client.schemas.validate(response.content)
    assert root.tag == f"{{{UWS_NS}}}jobs"
    assert root.get("version") == "1.1"
    refs = {ref.id: ref for ref in client.job_list()}
    ref = refs[job_id_of(url)]
    assert ref.href == url
    assert ref.phase == "PENDING"
    assert ref.owner is None  # anonymous: ownerId is xsi:nil
    node = next(n for n in root.findall(uws("jobref")) if n.get("id") == ref.id)
    assert node.findtext(uws("runId")) == "listed"
    assert node.get(xlink("type")) in (None, "simple")
    assert abs(ref.creation_time - client.job(url).instant("creationTime")) <= timedelta(
        milliseconds=1)


def test_job_list_phase_filter_is_a_union(client: UWSClient) -> None:
    pending = client.create(app="hello")
    aborted = client.create(app="hello")
    assert_see_other(client.post(f"{aborted}/phase", {"PHASE": "ABORT"}), aborted)
    completed, doc = client.run(app="hello")
    assert doc.phase == "COMPLETED"
    ids = {name: job_id_of(url) for name, url in
           (("pending", pending), ("aborted", aborted), ("completed", completed))}

    only_pending = client.job_list({"PHASE": "PENDING"})
    assert {r.phase for r in only_pending} == {"PENDING"}
    assert ids["pending"] in {r.id for r in only_pending}
    assert not {ids["aborted"], ids["completed"]} & {r.id for r in only_pending}

    union = client.job_list([("PHASE", "PENDING"), ("PHASE", "ABORTED")])
    assert {r.phase for r in union} <= {"PENDING", "ABORTED"}
    assert {ids["pending"], ids["aborted"]} <= {r.id for r in union}
    assert ids["completed"] not in {r.id for r in union}
    every = client.job_list()
    assert set(ids.values()) <= {r.id for r in every}
    # The union holds exactly the jobs of the whole list in those two phases.
    assert {r.id for r in union} == {r.id for r in every if r.phase in ("PENDING", "ABORTED")}


def test_job_list_after_filter(client: UWSClient) -> None:
    first = client.job(client.create(app="hello"))
    time.sleep(0.05)  # two distinct creation times with a gap to put AFTER into
    second = client.job(client.create(app="hello"))
    t1, t2 = first.instant("creationTime"), second.instant("creationTime")
    assert t2 > t1
    between = t1 + (t2 - t1) / 2

    listed = client.job_list({"AFTER": iso_z(between)})
    assert second.job_id in {r.id for r in listed}
    assert first.job_id not in {r.id for r in listed}
    assert all(r.creation_time > between for r in listed)
    # The same instant written with another UTC offset selects the same jobs.
    shifted = between.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="milliseconds")
    assert {r.id for r in client.job_list({"AFTER": shifted})} == {r.id for r in listed}
    future = datetime.now(UTC) + timedelta(days=1)
    assert client.job_list({"AFTER": iso_z(future)}) == []


def test_job_list_last_filter(client: UWSClient) -> None:
    urls = [client.create(app="hello", RUNID=f"last-{i}") for i in range(3)]
    ids = [job_id_of(u) for u in urls]
    two = client.job_list({"LAST": "2"})
    assert [r.id for r in two] == [ids[2], ids[1]]  # the most recent, newest first
    one = client.job_list({"LAST": "1"})
    assert [r.id for r in one] == [ids[2]]
    everything = client.job_list()
    many = client.job_list({"LAST": str(len(everything) + 10)})
    assert sorted(r.id for r in many) == sorted(r.id for r in everything)
    times = [r.creation_time for r in many]
    assert times == sorted(times, reverse=True)


def test_job_list_combined_filters(client: UWSClient) -> None:
    start = datetime.now(UTC) - timedelta(milliseconds=5)
    older_pending = client.create(app="hello")
    aborted = client.create(app="hello")
    assert_see_other(client.post(f"{aborted}/phase", {"PHASE": "ABORT"}), aborted)
    newer_pending = client.create(app="hello")

    pending_last = client.job_list({"PHASE": "PENDING", "LAST": "2"})
    assert [r.id for r in pending_last] == [job_id_of(newer_pending), job_id_of(older_pending)]

    after_aborted = client.job_list({"PHASE": "ABORTED", "AFTER": iso_z(start)})
    assert [r.id for r in after_aborted] == [job_id_of(aborted)]

    after_all = client.job_list([("AFTER", iso_z(start)), ("PHASE", "PENDING"),
                                 ("PHASE", "ABORTED"), ("LAST", "1")])
    assert [r.id for r in after_all] == [job_id_of(newer_pending)]
