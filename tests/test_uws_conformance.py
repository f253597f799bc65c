"""UWS 1.1 (IVOA Recommendation 2016-10-24) conformance of innerspace's job service.

Every XML document the tests receive (job list, job, parameters, results, VOSI, and what
pyvo fetches) is validated against the IVOA schemas on arrival (tests/uwsclient.py). Jobs run
the `hello` example app with small delays; `fits-stats` covers file uploads and failures.
Every test runs twice: on the local Docker engine and on a real two-node Docker Swarm.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveService
from tests.uwsclient import (
    UWS_NS,
    JobDoc,
    UWSClient,
    is_nil,
    job_dir,
    media_type,
    parse_iso,
    uws,
    validating_requests_session,
    xlink,
)

pytestmark = pytest.mark.docker

UWS_STANDARD_ID = "ivo://ivoa.net/std/UWS#rest-1.1"


@pytest.fixture(scope="module", params=["docker", "swarm"])
def engine_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test here runs on the local engine and on a two-node Swarm."""
    if request.param == "docker":
        return {}
    return dict(request.getfixturevalue("swarm_cluster").settings())


@pytest.fixture
def client(service: LiveService, xml_schemas: Any) -> Iterator[UWSClient]:
    with UWSClient(service, xml_schemas) as uws_client:
        yield uws_client


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def job_id_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def assert_see_other(response: httpx.Response, target: str) -> None:
    assert response.status_code == 303, (response.status_code, response.text)
    assert response.headers["location"] == target


def plain_text(client: UWSClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text)
    assert media_type(response) == "text/plain", (url, response.headers)
    return response.text


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
    assert abs(ref.creation_time - client.job(url).time("creationTime")) <= timedelta(
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
    t1, t2 = first.time("creationTime"), second.time("creationTime")
    assert t1 is not None and t2 is not None and t2 > t1
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


# -- the job and its children ------------------------------------------------------------

def test_job_document_and_atomic_children(client: UWSClient) -> None:
    url = client.create(app="hello", name="Ada", delay="0", RUNID="child-check")
    doc = client.job(url)
    assert doc.job_id == job_id_of(url)
    assert doc.text("runId") == "child-check"
    assert doc.phase == "PENDING"
    assert doc.root.find(uws("ownerId")) is not None and is_nil(doc.root.find(uws("ownerId")))

    assert plain_text(client, f"{url}/phase").strip() == "PENDING"
    duration = plain_text(client, f"{url}/executionduration").strip()
    assert duration == doc.text("executionDuration")
    assert int(duration) >= 0
    destruction = parse_iso(plain_text(client, f"{url}/destruction"))
    # Exact agreement is checked in test_destruction_round_trips_exactly.
    assert abs(destruction - doc.time("destruction")) <= timedelta(milliseconds=1)
    assert destruction > doc.time("creationTime")
    quote = parse_iso(plain_text(client, f"{url}/quote"))
    assert quote >= doc.time("creationTime")
    assert plain_text(client, f"{url}/owner").strip() == ""
    plain_text(client, f"{url}/error")  # text/plain even when there is no error

    parameters = client.get(f"{url}/parameters")
    assert parameters.status_code == 200
    root = client.schemas.validate(parameters.content)
    assert root.tag == uws("parameters")
    values = {p.get("id"): p.text for p in root.findall(uws("parameter"))}
    assert values == {"name": "Ada", "delay": "0"}
    assert {k: v.text for k, v in doc.parameters.items()} == values

    results = client.get(f"{url}/results")
    assert results.status_code == 200
    root = client.schemas.validate(results.content)
    assert root.tag == uws("results")
    assert root.findall(uws("result")) == []


def test_every_change_answers_see_other(client: UWSClient) -> None:
    jobs = client.jobs_url
    url = client.create(app="hello", name="Redirect")  # create() asserts 303 -> job URL
    future = iso_z(datetime.now(UTC) + timedelta(days=2))
    assert_see_other(client.post(f"{url}/destruction", {"DESTRUCTION": future}), url)
    assert_see_other(client.post(f"{url}/executionduration", {"EXECUTIONDURATION": "120"}),
                     url)
    assert plain_text(client, f"{url}/executionduration").strip() == "120"
    assert_see_other(client.post(f"{url}/parameters", {"name": "Moved"}), url)
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "RUN"}), url)
    assert client.wait_for(url).phase == "COMPLETED"

    to_abort = client.create(app="hello")
    assert_see_other(client.post(f"{to_abort}/phase", {"PHASE": "ABORT"}), to_abort)

    assert_see_other(client.delete(url), jobs)
    assert client.get(url).status_code == 404
    assert_see_other(client.post(to_abort, {"ACTION": "DELETE"}), jobs)
    assert client.get(to_abort).status_code == 404
    listed = {r.id for r in client.job_list()}
    assert not {job_id_of(url), job_id_of(to_abort)} & listed


# -- running and aborting ----------------------------------------------------------------

def test_run_in_creating_post(client: UWSClient) -> None:
    url = client.create(app="hello", name="Eager", PHASE="RUN")
    assert client.phase(url) in ("QUEUED", "EXECUTING", "COMPLETED")
    doc = client.wait_for(url)
    assert doc.phase == "COMPLETED"
    assert doc.time("startTime") is not None and doc.time("endTime") is not None
    assert doc.time("startTime") <= doc.time("endTime")


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


# -- parameters ----------------------------------------------------------------------------

def test_parameters_update_while_pending_only(client: UWSClient) -> None:
    url = client.create(app="hello", name="Ada")
    assert_see_other(client.post(f"{url}/parameters", {"name": "Grace", "delay": "0"}), url)
    params = client.job(url).parameters
    assert params["name"].text == "Grace"
    assert params["delay"].text == "0"
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "RUN"}), url)
    assert client.wait_for(url).phase == "COMPLETED"
    assert client.get(f"{url}/results/greeting.txt").text == "Hello, Grace!\n"

    refused = client.post(f"{url}/parameters", {"name": "Linus"})
    assert 400 <= refused.status_code < 500, refused.status_code
    assert media_type(refused) == "text/plain"
    assert "PENDING" in refused.text
    assert client.job(url).parameters["name"].text == "Grace"


def test_file_parameter_upload(client: UWSClient, fits_file: Path) -> None:
    data = fits_file.read_bytes()
    url, doc = client.run({"app": "fits-stats", "stretch": "linear"},
                          files={"image": ("field.fits", data, "application/fits")})
    assert doc.phase == "COMPLETED", doc.raw
    image = doc.parameters["image"]
    assert image.get("byReference") == "true"
    assert image.text.startswith(("http://", "https://"))
    uploaded = client.get(image.text)
    assert uploaded.status_code == 200
    assert uploaded.content == data
    stretch = doc.parameters["stretch"]
    assert stretch.get("byReference") in (None, "false")
    assert stretch.text == "linear"

    expected = {"stats.json": "application/json", "preview.png": "image/png"}
    for name, mime in expected.items():
        result = doc.results[name]
        assert result.get("mime-type") == mime
        assert result.get(xlink("href")) == f"{url}/results/{name}"
        body = client.get(result.get(xlink("href")))
        assert body.status_code == 200
        assert media_type(body) == mime
        assert int(result.get("size")) == len(body.content) > 0
    stats = json.loads(client.get(f"{url}/results/stats.json").content)
    assert stats["hdus"][0]["shape"] == [64, 64]
    assert client.get(f"{url}/results/preview.png").content.startswith(b"\x89PNG\r\n\x1a\n")


# -- error, quote, destruction, execution duration ------------------------------------------

def test_error_summary_and_error_resource(client: UWSClient) -> None:
    url, doc = client.run({"app": "fits-stats"},
                          files={"image": ("notfits.fits", b"this is not FITS\n" * 10,
                                           "application/fits")})
    assert doc.phase == "ERROR"
    summary = doc.error_summary
    assert summary is not None
    assert summary.get("type") in ("fatal", "transient")
    message = summary.findtext(uws("message"))
    assert message and message.strip()
    error_text = plain_text(client, f"{url}/error")
    assert error_text.strip()
    if summary.get("hasDetail") == "true":
        assert len(error_text.strip()) >= len(message.strip())
    assert "FITS" in error_text  # the app's own complaint reaches the client
    assert client.job(url).error_summary is not None


def test_quote_of_pending_job(client: UWSClient) -> None:
    url = client.create(app="hello")
    doc = client.job(url)
    assert doc.text("quote") is not None  # an estimate, not xsi:nil
    quote = doc.time("quote")
    assert quote is not None and quote >= doc.time("creationTime")
    text_quote = parse_iso(plain_text(client, f"{url}/quote"))
    assert abs(text_quote - quote) < timedelta(seconds=5)


def test_destruction_round_trips_exactly(client: UWSClient) -> None:
    """A DESTRUCTION within the server's limits is kept as given, and /destruction and the
    job document show the same instant. Several millisecond values are tried, since an
    error in rendering fractions of a second shows on some values only."""
    url = client.create(app="hello")
    base = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    shown: list[tuple[str, str, str]] = []
    for millis in range(1, 25, 2):
        when = base + timedelta(milliseconds=millis)
        assert_see_other(client.post(f"{url}/destruction", {"DESTRUCTION": iso_z(when)}), url)
        text = plain_text(client, f"{url}/destruction").strip()
        in_job = client.job(url).text("destruction") or ""
        if not parse_iso(text) == parse_iso(in_job) == when:
            shown.append((iso_z(when), text, in_job))
    assert not shown, "posted -> /destruction, job document:\n" + "\n".join(
        f"{sent} -> {text}, {in_job}" for sent, text, in_job in shown)


def test_destruction_destroys_job_and_files(client: UWSClient, service: LiveService) -> None:
    url, doc = client.run(app="hello", name="Ephemeral")
    assert doc.phase == "COMPLETED"
    folder = job_dir(service, url)
    assert (folder / "results" / "greeting.txt").is_file()
    when = datetime.now(UTC) + timedelta(seconds=2)
    assert_see_other(client.post(f"{url}/destruction", {"DESTRUCTION": iso_z(when)}), url)
    stored = parse_iso(plain_text(client, f"{url}/destruction"))
    assert abs(stored - when) < timedelta(seconds=1)

    deadline = time.monotonic() + 15
    while client.get(url).status_code != 404:  # nothing to WAIT on: the job is final
        assert time.monotonic() < deadline, "the job outlived its destruction time"
        time.sleep(0.2)
    assert datetime.now(UTC) >= when - timedelta(milliseconds=100)
    assert not folder.exists()
    assert job_id_of(url) not in {r.id for r in client.job_list()}
    assert client.get(f"{url}/results/greeting.txt").status_code == 404


def test_execution_duration_enforced(client: UWSClient) -> None:
    started = time.monotonic()
    url = client.create(app="hello", delay="30", EXECUTIONDURATION="2", PHASE="RUN")
    assert plain_text(client, f"{url}/executionduration").strip() == "2"
    doc = client.wait_for(url, timeout=25)
    elapsed = time.monotonic() - started
    assert doc.phase == "ERROR", doc.raw
    assert elapsed < 15, elapsed
    message = doc.error_summary.findtext(uws("message"))
    assert "execution duration" in message.lower()
    assert "execution duration" in plain_text(client, f"{url}/error").lower()


# -- WAIT (blocking) -----------------------------------------------------------------------

def test_wait_returns_promptly_after_phase_change(client: UWSClient) -> None:
    url = client.create(app="hello", delay="2", PHASE="RUN")
    assert client.wait_for(url, {"EXECUTING"}).phase == "EXECUTING"
    started = time.monotonic()
    doc = client.job(url, WAIT=30)
    elapsed = time.monotonic() - started
    assert doc.phase == "COMPLETED"
    assert 1.0 <= elapsed < 8, elapsed  # blocked for the run, not the full 30 s


def test_wait_is_woken_by_another_request(client: UWSClient,
                                          service: LiveService, xml_schemas: Any) -> None:
    url = client.create(app="hello")
    outcome: dict[str, Any] = {}

    def waiter() -> None:
        with UWSClient(service, xml_schemas) as other:
            begun = time.monotonic()
            outcome["doc"] = other.job(url, WAIT=30)
            outcome["elapsed"] = time.monotonic() - begun

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)  # let the waiter block first
    assert "doc" not in outcome
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "RUN"}), url)
    thread.join(35)
    assert outcome["doc"].phase in ("QUEUED", "EXECUTING", "COMPLETED")
    assert 0.2 <= outcome["elapsed"] < 5, outcome["elapsed"]
    client.wait_for(url)


def test_wait_on_final_phase_returns_at_once(client: UWSClient) -> None:
    url, doc = client.run(app="hello")
    assert doc.phase == "COMPLETED"
    started = time.monotonic()
    assert client.job(url, WAIT=30).phase == "COMPLETED"
    assert time.monotonic() - started < 1.5


def test_wait_with_other_phase_returns_at_once(client: UWSClient) -> None:
    url = client.create(app="hello")
    started = time.monotonic()
    assert client.job(url, WAIT=30, PHASE="EXECUTING").phase == "PENDING"
    assert time.monotonic() - started < 1.5


def test_wait_times_out_when_nothing_changes(client: UWSClient) -> None:
    url = client.create(app="hello")
    started = time.monotonic()
    assert client.job(url, WAIT=1).phase == "PENDING"
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3, elapsed


# -- results ---------------------------------------------------------------------------------

def test_results_are_app_files_plus_logs(client: UWSClient, service: LiveService) -> None:
    url, doc = client.run(app="hello", name="Vera")
    assert doc.phase == "COMPLETED"
    written = {p.relative_to(job_dir(service, url) / "results").as_posix()
               for p in (job_dir(service, url) / "results").rglob("*") if p.is_file()}
    assert written == {"greeting.txt"}
    assert set(doc.results) == written | {"stdout", "stderr"}

    listing = client.get(f"{url}/results")
    root = client.schemas.validate(listing.content)
    assert {r.get("id") for r in root.findall(uws("result"))} == set(doc.results)

    contents: dict[str, bytes] = {}
    for result_id, node in doc.results.items():
        assert node.get(xlink("href")) == f"{url}/results/{result_id}"
        response = client.get(node.get(xlink("href")))
        assert response.status_code == 200, result_id
        assert int(node.get("size")) == len(response.content), result_id
        assert media_type(response) == node.get("mime-type"), result_id
        contents[result_id] = response.content
    assert contents["greeting.txt"] == b"Hello, Vera!\n"
    assert doc.results["greeting.txt"].get("mime-type") == "text/plain"
    assert b"Hello, Vera!" in contents["stdout"]


# -- identity --------------------------------------------------------------------------------

TOKENS = {"t1": "alice", "t2": "bob"}


def test_tokens_are_required(make_service: Callable[..., LiveService],
                             xml_schemas: Any) -> None:
    live = make_service(tokens=TOKENS)
    for token in (None, "not-a-token"):
        with UWSClient(live, xml_schemas, token) as client:
            for response in (client.get("/jobs"),
                             client.post("/jobs", {"app": "hello"})):
                assert response.status_code == 401, (token, response.status_code)
                assert media_type(response) == "text/plain"
                assert response.headers.get("www-authenticate", "").lower().startswith(
                    "bearer")
    with UWSClient(live, xml_schemas, "t1") as alice:
        assert alice.job_list() == []  # the refused POSTs created nothing
    assert list((live.data_dir / "jobs").iterdir()) == []


def test_owners_see_only_their_jobs(make_service: Callable[..., LiveService],
                                    xml_schemas: Any) -> None:
    live = make_service(tokens=TOKENS)
    with UWSClient(live, xml_schemas, "t1") as alice, \
            UWSClient(live, xml_schemas, "t2") as bob:
        url = alice.create(app="hello", name="private")
        doc = alice.job(url)
        assert doc.text("ownerId") == "alice"
        assert plain_text(alice, f"{url}/owner").strip() == "alice"
        refs = {r.id: r for r in alice.job_list()}
        assert refs[doc.job_id].owner == "alice"

        bobs = bob.create(app="hello")
        assert bob.job(bobs).text("ownerId") == "bob"
        assert doc.job_id not in {r.id for r in bob.job_list()}
        assert job_id_of(bobs) not in {r.id for r in alice.job_list()}
        assert alice.get(bobs).status_code == 404
        for path in ("", "/phase", "/parameters", "/results", "/owner"):
            assert bob.get(f"{url}{path}").status_code == 404, path
        assert bob.post(f"{url}/phase", {"PHASE": "RUN"}).status_code == 404
        assert bob.delete(url).status_code == 404
        assert alice.phase(url) == "PENDING"  # bob changed nothing


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
        starts = [d.time("startTime") for d in docs]
        ends = [d.time("endTime") for d in docs]
        assert starts[0] < starts[1] < starts[2]
        assert starts[1] >= ends[0] and starts[2] >= ends[1]  # one at a time


# -- VOSI --------------------------------------------------------------------------------------

def test_vosi_availability(client: UWSClient) -> None:
    response = client.get("/availability")
    assert response.status_code == 200
    root = client.schemas.validate(response.content)
    assert root.tag == "{http://www.ivoa.net/xml/VOSIAvailability/v1.0}availability"
    available = root.findtext("{http://www.ivoa.net/xml/VOSIAvailability/v1.0}available")
    assert available == "true"


def test_vosi_capabilities(client: UWSClient) -> None:
    response = client.get("/capabilities")
    assert response.status_code == 200
    root = client.schemas.validate(response.content)
    assert root.tag == "{http://www.ivoa.net/xml/VOSICapabilities/v1.0}capabilities"
    capabilities = {c.get("standardID"): c for c in root.iter("capability")}
    uws_capability = capabilities[UWS_STANDARD_ID]
    urls = [u.text.strip() for u in uws_capability.iter("accessURL")]
    assert urls and all(u.endswith("/jobs") for u in urls)
    assert f"{client.service.url}/jobs" in urls
    assert "ivo://ivoa.net/std/VOSI#capabilities" in capabilities


# -- pyvo as a real client ----------------------------------------------------------------

def test_pyvo_parses_jobs_in_every_phase(client: UWSClient) -> None:
    from pyvo.io.uws import parse_job

    documents: dict[str, bytes] = {}
    pending = client.create(app="hello", name="pyvo")
    documents["PENDING"] = client.job(pending).raw
    running = client.create(app="hello", delay="3", PHASE="RUN")
    documents["EXECUTING"] = client.wait_for(running, {"EXECUTING"}).raw
    documents["COMPLETED"] = client.wait_for(running).raw
    failing = client.create(app="hello", delay="30", EXECUTIONDURATION="1", PHASE="RUN")
    documents["ERROR"] = client.wait_for(failing, timeout=25).raw
    assert_see_other(client.post(f"{pending}/phase", {"PHASE": "ABORT"}), pending)
    documents["ABORTED"] = client.wait_for(pending).raw

    for phase, raw in documents.items():
        job = parse_job(io.BytesIO(raw), pedantic=True)
        assert job.phase == phase
        assert job.jobid
        assert job.version == "1.1"
    completed = parse_job(io.BytesIO(documents["COMPLETED"]), pedantic=True)
    assert {r.id_ for r in completed.results} == {"greeting.txt", "stdout", "stderr"}
    errored = parse_job(io.BytesIO(documents["ERROR"]), pedantic=True)
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
