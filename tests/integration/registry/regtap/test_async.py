"""The RegTAP service's asynchronous queries (/registry/tap/async, TAP 1.1 on UWS 1.1), as
pyvo and a plain UWS client use them: run_async, submit_job().run().wait(), the job's
documents, RUNID, WAIT, the quote and execution duration (capped by the query time limit),
destruction (capped), errors as the error summary with the DALI document at /error, ABORT,
DELETE; and run_sync beside them."""

from __future__ import annotations

import time

import httpx
import pytest
from lxml import etree

from innerspace.registry.regtap import RegTAPIndex
from tests.support.regtap_live import VOTABLE_NS, LiveRegTAP
from tests.support.regtap_samples import TAP_IVOID

pyvo = pytest.importorskip("pyvo")
from pyvo.dal import DALQueryError, TAPService  # noqa: E402

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
QUERY = f"SELECT ivoid, cap_index FROM rr.capability WHERE ivoid = '{TAP_IVOID}' " \
        f"ORDER BY cap_index"


def test_pyvo_run_async_and_submit_job(live: LiveRegTAP) -> None:
    service = TAPService(live.url)
    rows = service.run_async(QUERY).to_table()
    assert list(rows["cap_index"]) == [0, 1, 2] and rows["ivoid"][0] == TAP_IVOID
    job = service.submit_job(QUERY, maxrec=1)
    assert job.phase == "PENDING"
    job.run().wait(timeout=60)
    assert job.phase == "COMPLETED"
    assert len(job.fetch_result().to_table()) == 1, "MAXREC applies"
    job.delete()
    with pytest.raises(pyvo.dal.DALServiceError):
        job.phase  # noqa: B018 - gone: its document is 404
    assert list(service.run_sync(QUERY).to_table()["cap_index"]) == [0, 1, 2]


def test_pyvo_async_error(live: LiveRegTAP) -> None:
    with pytest.raises(DALQueryError, match=r"(?i)syntax|parse|no such|unknown"):
        TAPService(live.url).run_async("SELECT FROM WHERE nothing")


def _create(http: httpx.Client, **values: str) -> str:
    response = http.post("/async", data=values)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def _document(http: httpx.Client, job: str, **params: str) -> etree._Element:
    response = http.get(job, params=params)
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def test_job_documents_and_lifecycle(http: httpx.Client, index: RegTAPIndex) -> None:
    job = _create(http, LANG="ADQL", QUERY=QUERY, RUNID="mine", RESPONSEFORMAT="csv",
                  PHASE="RUN")
    done = _document(http, job, WAIT="60")
    while done.findtext(f"{UWS}phase") in ("QUEUED", "EXECUTING"):
        done = _document(http, job, WAIT="60")
    assert done.findtext(f"{UWS}phase") == "COMPLETED"
    assert done.findtext(f"{UWS}runId") == "mine"
    parameters = {p.get("id"): p.text for p in done.iter(f"{UWS}parameter")}
    assert parameters == {"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": "csv"}
    assert int(done.findtext(f"{UWS}executionDuration") or 0) == int(index.timeout), \
        "the query time limit is the longest duration"
    [result] = done.iter(f"{UWS}result")
    assert result.get("id") == "result"
    csv = http.get(f"{job}/results/result")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "ivoid,cap_index"
    assert http.get(f"{job}/quote").text == "", "a finished job has no quote"
    assert http.get(f"{job}/error").status_code == 404
    # Destruction: later than the longest kept is shortened to it.
    http.post(f"{job}/destruction", data={"DESTRUCTION": "2999-01-01T00:00:00Z"})
    kept = time.mktime(time.strptime(http.get(f"{job}/destruction").text[:19],
                                     "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert kept < time.time() + 8 * 86400
    listed = etree.fromstring(http.get("/async").content)
    assert job.rsplit("/", 1)[-1] in {r.get("id") for r in listed.iter(f"{UWS}jobref")}
    assert http.delete(job).status_code == 303 and http.get(job).status_code == 404

    pending = _create(http, QUERY=QUERY, EXECUTIONDURATION="5")
    assert http.get(f"{pending}/phase").text == "PENDING"
    assert http.get(f"{pending}/executionduration").text == "5"
    assert http.get(f"{pending}/quote").text != ""
    http.post(f"{pending}/parameters", data={"MAXREC": "1", "runId": "later"})
    pending_doc = _document(http, pending)
    assert pending_doc.findtext(f"{UWS}runId") == "later"
    assert http.post(f"{pending}/phase", data={"PHASE": "ABORT"}).status_code == 303
    assert http.get(f"{pending}/phase").text == "ABORTED"
    assert http.post(pending, data={"ACTION": "DELETE"}).status_code == 303


def test_query_errors_end_the_job(http: httpx.Client) -> None:
    for values in ({"LANG": "ADQL", "QUERY": "DUFF QUERY"},
                   {"LANG": "PostgreSQL", "QUERY": "SELECT 1"},
                   {"LANG": "ADQL", "QUERY": QUERY, "UPLOAD": "t,http://x/t.xml"}):
        job = _create(http, PHASE="RUN", **values)
        document = _document(http, job, WAIT="60")
        while document.findtext(f"{UWS}phase") in ("QUEUED", "EXECUTING"):
            document = _document(http, job, WAIT="60")
        assert document.findtext(f"{UWS}phase") == "ERROR", values
        message = document.findtext(f"{UWS}errorSummary/{UWS}message") or ""
        error = etree.fromstring(http.get(f"{job}/error").content)
        info = error.find(f"{VOTABLE_NS}RESOURCE/{VOTABLE_NS}INFO[@name='QUERY_STATUS']")
        assert info is not None and info.get("value") == "ERROR"
        assert message and message in (info.text or ""), values


def test_bad_uws_values_are_refused(http: httpx.Client) -> None:
    for values in ({"PHASE": "SUSPEND"}, {"EXECUTIONDURATION": "soon"},
                   {"DESTRUCTION": "tomorrow"}, {"RUNID": "x" * 300}):
        response = http.post("/async", data={"QUERY": QUERY, **values})
        assert response.status_code == 400, values
    assert http.get("/async/nosuchjob0000000").status_code == 404
    assert http.get("/async", params={"PHASE": "DONE"}).status_code == 400
