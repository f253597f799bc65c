"""Bad input to the UWS service: every refusal is a 4xx (never a 5xx) with a text/plain
message naming the problem, and a refused creation leaves no job behind (neither in the job
list nor as a directory under data_dir/jobs). (Path tricks on result files:
test_result_files.py.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from tests.support.services import LiveService
from tests.support.uwsclient import UWSClient, media_type

URLENCODED = "application/x-www-form-urlencoded"


def assert_refused(response: httpx.Response, *words: str, status: int | None = None) -> None:
    """A 4xx with a text/plain message that names every one of `words`."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text)
    assert media_type(response) == "text/plain", response.headers
    message = response.text.lower()
    missing = [w for w in words if w.lower() not in message]
    assert not missing, f"the message {response.text!r} does not name {missing}"


def job_state(client: UWSClient) -> tuple[list[str], set[str]]:
    """The job list's ids and the job directories on disk."""
    jobs_dir = client.service.data_dir / "jobs"
    dirs = {p.name for p in jobs_dir.iterdir()} if jobs_dir.is_dir() else set()
    return [r.id for r in client.job_list()], dirs


@dataclass
class NoNewJob:
    """Records the job state before a refused creation and checks it is unchanged."""

    client: UWSClient
    before: tuple[list[str], set[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.before = job_state(self.client)

    def check(self) -> None:
        ids, dirs = job_state(self.client)
        assert len(ids) == len(self.before[0]), "a refused request created a job"
        assert ids == self.before[0]
        assert dirs == self.before[1], f"new job directories: {dirs - self.before[1]}"


def refuse_creation(client: UWSClient, *words: str, status: int | None = None,
                    **request: Any) -> httpx.Response:
    """POST /jobs, expect a refusal naming `words`, and check that no job was made."""
    guard = NoNewJob(client)
    response = client.http.post("/jobs", **request)
    assert_refused(response, *words, status=status)
    guard.check()
    return response


# -- creating a job with bad values ---------------------------------------------------------

CREATION_CASES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "bad-phase": ({"app": "hello", "PHASE": "JUMP"}, ("PHASE", "JUMP")),
    "phase-suspend": ({"app": "hello", "PHASE": "SUSPEND"}, ("SUSPEND",)),
    "destruction-not-iso": ({"app": "hello", "DESTRUCTION": "next tuesday"},
                            ("DESTRUCTION", "next tuesday")),
    "destruction-bad-date": ({"app": "hello", "DESTRUCTION": "2030-13-45T00:00:00Z"},
                             ("DESTRUCTION", "2030-13-45")),
    "destruction-past": ({"app": "hello", "DESTRUCTION": "2001-01-01T00:00:00Z"},
                         ("DESTRUCTION", "past")),
    "duration-negative": ({"app": "hello", "EXECUTIONDURATION": "-5"},
                          ("EXECUTIONDURATION", "-5")),
    "duration-not-integer": ({"app": "hello", "EXECUTIONDURATION": "ten"},
                             ("EXECUTIONDURATION", "ten")),
    "unknown-app": ({"app": "no-such-app", "name": "x"}, ("no-such-app",)),
    "missing-app": ({"name": "x"}, ("app",)),
    "unknown-parameter": ({"app": "hello", "colour": "red"}, ("colour",)),
    "wrong-type": ({"app": "hello", "delay": "abc"}, ("delay",)),
    "below-minimum": ({"app": "hello", "delay": "-1"}, ("delay",)),
    "missing-required": ({"app": "fits-stats"}, ("image",)),
    "file-as-string": ({"app": "fits-stats", "image": "field.fits"}, ("image",)),
    "reserved-twice": ({"app": "hello", "RUNID": "a", "runid": "b"}, ("runid",)),
}


@pytest.mark.parametrize("case", sorted(CREATION_CASES))
def test_bad_creation_is_refused(client: UWSClient, case: str) -> None:
    fields, words = CREATION_CASES[case]
    refuse_creation(client, *words, data=fields)


def test_bad_enum_with_upload_is_refused(client: UWSClient, fits_file: Path) -> None:
    refuse_creation(client, "stretch", data={"app": "fits-stats", "stretch": "sqrt"},
                    files={"image": ("field.fits", fits_file.read_bytes(), "application/fits")})


def test_upload_for_a_value_parameter_is_refused(client: UWSClient) -> None:
    refuse_creation(client, "name", data={"app": "hello"},
                    files={"name": ("name.txt", b"Ada", "text/plain")})


# -- bodies the service cannot read -------------------------------------------------------

def multipart(boundary: str, parts: list[tuple[str, bytes]]) -> bytes:
    body = b""
    for name, value in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                 ).encode() + value + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


RAW_BODIES: dict[str, tuple[bytes, str, tuple[str, ...]]] = {
    "percent-encoded-non-utf8": (b"app=hello&name=%ff%fe", URLENCODED, ("name", "UTF-8")),
    "raw-non-utf8-byte": (b"app=hello&name=\xff", URLENCODED, ("name", "UTF-8")),
    "raw-non-utf8-name": (b"app=hello&\xffname=x", URLENCODED, ("UTF-8",)),
    "multipart-non-utf8-value": (
        multipart("bOuNdArY", [("app", b"hello"), ("name", b"\xff\xfe")]),
        "multipart/form-data; boundary=bOuNdArY", ("name", "UTF-8")),
    "json-body": (b'{"app": "hello"}', "application/json", ("content type",)),
    "text-body": (b"app=hello", "text/plain", ("content type",)),
    "broken-multipart": (b"--x\r\nno headers here", "multipart/form-data; boundary=x",
                         ("multipart",)),
}


@pytest.mark.parametrize("case", sorted(RAW_BODIES))
def test_unreadable_body_is_refused(client: UWSClient, case: str) -> None:
    body, content_type, words = RAW_BODIES[case]
    refuse_creation(client, *words, content=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize("size", [5000, 200_000])
def test_upload_over_limit_is_refused(make_service: Callable[..., LiveService],
                                      xml_schemas: Any, size: int) -> None:
    live = make_service(limits={"max_upload_size": 1000})
    with UWSClient(live, xml_schemas) as client:
        refuse_creation(client, "1000", status=413, data={"app": "fits-stats"},
                        files={"image": ("big.fits", b"\0" * size, "application/fits")})
        assert list((live.data_dir / "jobs").iterdir()) == []


# -- bad requests on an existing job --------------------------------------------------------

@pytest.fixture
def pending(client: UWSClient) -> str:
    return client.create(app="hello", name="Ada", EXECUTIONDURATION="100",
                         DESTRUCTION="2099-01-01T00:00:00Z")


def snapshot(client: UWSClient, url: str) -> bytes:
    """The job document minus what changes by itself (the quote)."""
    doc = client.job(url)
    quote = doc.root.find("{http://www.ivoa.net/xml/UWS/v1.0}quote")
    if quote is not None:
        doc.root.remove(quote)
    return bytes(etree.tostring(doc.root))


JOB_POSTS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "phase-bad": ("/phase", {"PHASE": "JUMP"}, ("JUMP",)),
    "phase-suspend": ("/phase", {"PHASE": "SUSPEND"}, ("SUSPEND",)),
    "phase-suspend-on-job": ("", {"PHASE": "SUSPEND"}, ("SUSPEND",)),
    "phase-missing": ("/phase", {"NOTPHASE": "RUN"}, ("PHASE",)),
    "action-unknown": ("", {"ACTION": "EXPLODE"}, ("ACTION", "EXPLODE")),
    "destruction-not-iso": ("/destruction", {"DESTRUCTION": "soonish"},
                            ("DESTRUCTION", "soonish")),
    "duration-negative": ("/executionduration", {"EXECUTIONDURATION": "-1"},
                          ("EXECUTIONDURATION",)),
    "duration-not-integer": ("/executionduration", {"EXECUTIONDURATION": "1.5"},
                             ("EXECUTIONDURATION",)),
    "parameter-wrong-type": ("/parameters", {"delay": "abc"}, ("delay",)),
    "parameter-unknown": ("/parameters", {"colour": "red"}, ("colour",)),
    "parameter-app": ("/parameters", {"app": "fits-stats"}, ("app",)),
}


@pytest.mark.parametrize("case", sorted(JOB_POSTS))
def test_bad_post_to_job_is_refused(client: UWSClient, pending: str, case: str) -> None:
    path, fields, words = JOB_POSTS[case]
    before = snapshot(client, pending)
    assert_refused(client.post(f"{pending}{path}", fields), *words)
    assert snapshot(client, pending) == before  # nothing changed


@pytest.mark.parametrize("body", [b"name=\xff", b"name=%ff%fe"], ids=["raw", "percent"])
def test_undecodable_parameter_update_is_refused(client: UWSClient, pending: str,
                                                 body: bytes) -> None:
    before = snapshot(client, pending)
    response = client.http.post(f"{pending}/parameters", content=body,
                                headers={"Content-Type": URLENCODED})
    assert_refused(response, "name", "UTF-8")
    assert snapshot(client, pending) == before


@pytest.mark.parametrize("wait", ["soon", "2.5", ""])
def test_bad_wait_is_refused(client: UWSClient, pending: str, wait: str) -> None:
    assert_refused(client.get(pending, WAIT=wait), "WAIT")


def test_wait_with_bad_phase_is_refused(client: UWSClient, pending: str) -> None:
    assert_refused(client.get(pending, WAIT="1", PHASE="JUMP"), "PHASE", "JUMP")


@pytest.mark.parametrize(("name", "value"), [
    ("LAST", "abc"), ("LAST", "2.5"), ("LAST", "-3"), ("AFTER", "yesterday"),
    ("AFTER", "2024-02-30T00:00:00Z"), ("PHASE", "JUMP")])
def test_bad_job_list_filter_is_refused(client: UWSClient, name: str, value: str) -> None:
    assert_refused(client.get("/jobs", **{name: value}), name, value)


def test_unknown_job_is_404(client: UWSClient) -> None:
    for path in ("", "/phase", "/parameters", "/results", "/error"):
        response = client.get(f"/jobs/nosuchjob{path}")
        assert_refused(response, "nosuchjob", status=404)
    assert_refused(client.post("/jobs/nosuchjob/phase", {"PHASE": "RUN"}), "nosuchjob",
                   status=404)
