"""A small UWS 1.1 test client: httpx underneath, every XML document it receives checked
against the IVOA schemas (the `xml_schemas` fixture), and helpers to read job documents.

Used by the UWS conformance, bad-input and result-file tests. Redirects are never followed,
so that each test sees the 303 answers UWS 1.1 prescribes.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support.services import LiveService

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
FINAL_PHASES = frozenset({"COMPLETED", "ERROR", "ABORTED", "ARCHIVED"})
ALL_FINAL = frozenset({"COMPLETED", "ERROR", "ABORTED"})


def uws(name: str) -> str:
    """The Clark name of a UWS element."""
    return f"{{{UWS_NS}}}{name}"


def xlink(name: str) -> str:
    return f"{{{XLINK_NS}}}{name}"


def is_xml_type(content_type: str | None) -> bool:
    """Whether a Content-Type announces an XML document."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


def media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";", 1)[0].strip().lower()


def iso_z(moment: datetime) -> str:
    """An instant as UWS clients write it: UTC, milliseconds, a trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def job_id_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def assert_see_other(response: httpx.Response, target: str) -> None:
    assert response.status_code == 303, (response.status_code, response.text)
    assert response.headers["location"] == target


def parse_iso(text: str) -> datetime:
    """An ISO 8601 instant as UWS writes it (a trailing Z is UTC); must carry a time zone."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    assert moment.tzinfo is not None, f"{text!r} has no time zone"
    return moment


def is_nil(node: Any) -> bool:
    return node.get(f"{{{XSI_NS}}}nil") in ("true", "1")


@dataclass(frozen=True)
class JobDoc:
    """A validated uws:job document and the raw bytes it came from."""

    root: Any
    raw: bytes

    def text(self, name: str) -> str | None:
        """The text of a direct child element; None when absent or xsi:nil."""
        node = self.root.find(uws(name))
        if node is None or is_nil(node):
            return None
        return node.text or ""

    @property
    def job_id(self) -> str:
        return self.text("jobId") or ""

    @property
    def phase(self) -> str:
        return self.text("phase") or ""

    def time(self, name: str) -> datetime | None:
        value = self.text(name)
        return None if value is None else parse_iso(value)

    def instant(self, name: str) -> datetime:
        """A time the document must give (not absent, not xsi:nil)."""
        value = self.time(name)
        assert value is not None, f"the job document has no {name}"
        return value

    @property
    def parameters(self) -> dict[str, Any]:
        node = self.root.find(uws("parameters"))
        return {} if node is None else {p.get("id"): p for p in node.findall(uws("parameter"))}

    @property
    def results(self) -> dict[str, Any]:
        node = self.root.find(uws("results"))
        return {} if node is None else {r.get("id"): r for r in node.findall(uws("result"))}

    @property
    def error_summary(self) -> Any:
        return self.root.find(uws("errorSummary"))


@dataclass(frozen=True)
class JobRef:
    """One uws:jobref of a job list."""

    id: str
    phase: str
    href: str
    owner: str | None
    creation_time: datetime


class UWSClient:
    """An httpx client on a live service that validates every XML response it receives."""

    def __init__(self, service: LiveService, schemas: Any, token: str | None = None) -> None:
        self.service = service
        self.schemas = schemas
        self.http = service.client(token)
        self.http.event_hooks = {"response": [self._check_xml]}
        self.validated = 0

    def _check_xml(self, response: httpx.Response) -> None:
        if is_xml_type(response.headers.get("content-type")):
            response.read()
            self.schemas.validate(response.content)
            self.validated += 1

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> UWSClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plain HTTP (XML answers are validated on arrival) --------------------------------

    def get(self, url: str, **params: Any) -> httpx.Response:
        return self.http.get(url, params=params or None)

    def post(self, url: str, data: Mapping[str, Any] | None = None, **kwargs: Any
             ) -> httpx.Response:
        return self.http.post(url, data=data, **kwargs)

    def delete(self, url: str) -> httpx.Response:
        return self.http.delete(url)

    # -- UWS --------------------------------------------------------------------------------

    @property
    def jobs_url(self) -> str:
        return f"{self.service.url}/jobs"

    def create(self, data: Mapping[str, Any] | None = None, files: Any = None,
               **fields: Any) -> str:
        """POST a new job; assert the 303 to the job and return the job URL."""
        form = {**(data or {}), **fields}
        response = self.http.post("/jobs", data=form, files=files)
        assert response.status_code == 303, (response.status_code, response.text)
        location = response.headers["location"]
        assert location.startswith(f"{self.jobs_url}/"), location
        job_id = location.removeprefix(f"{self.jobs_url}/")
        assert job_id and "/" not in job_id, location
        return location

    def job(self, url: str, **params: Any) -> JobDoc:
        response = self.get(url, **params)
        assert response.status_code == 200, (response.status_code, response.text)
        assert media_type(response) in ("application/xml", "text/xml"), response.headers
        root = self.schemas.validate(response.content)
        assert root.tag == uws("job"), root.tag
        return JobDoc(root, response.content)

    def phase(self, url: str) -> str:
        response = self.get(f"{url}/phase")
        assert response.status_code == 200, (response.status_code, response.text)
        assert media_type(response) == "text/plain", response.headers
        return response.text.strip()

    def wait_for(self, url: str, phases: frozenset[str] | set[str] = ALL_FINAL,
                 timeout: float = 90) -> JobDoc:
        """Block (with UWS WAIT, no polling loop of our own) until the job is in `phases`."""
        deadline = time.monotonic() + timeout
        doc = self.job(url)
        while doc.phase not in phases:
            assert doc.phase not in FINAL_PHASES, (
                f"job ended {doc.phase}, not in {sorted(phases)}: "
                f"{doc.raw.decode(errors='replace')}")
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"job still {doc.phase} after {timeout} s"
            doc = self.job(url, WAIT=max(1, min(30, int(remaining))))
        return doc

    def run(self, data: Mapping[str, Any] | None = None, files: Any = None,
            timeout: float = 90, **fields: Any) -> tuple[str, JobDoc]:
        """Create a job with PHASE=RUN and wait for it to end."""
        url = self.create(data, files=files, PHASE="RUN", **fields)
        return url, self.wait_for(url, ALL_FINAL, timeout)

    def job_list(self, params: Any = None) -> list[JobRef]:
        response = self.http.get("/jobs", params=params)
        assert response.status_code == 200, (response.status_code, response.text)
        root = self.schemas.validate(response.content)
        assert root.tag == uws("jobs"), root.tag
        refs = []
        for node in root.findall(uws("jobref")):
            owner = node.find(uws("ownerId"))
            refs.append(JobRef(
                id=node.get("id"),
                phase=node.findtext(uws("phase")),
                href=node.get(xlink("href")),
                owner=None if owner is None or is_nil(owner) else owner.text,
                creation_time=parse_iso(node.findtext(uws("creationTime"))),
            ))
        return refs


class ReplayBody:
    """A stand-in for a requests raw stream, replaying bytes already read (for pyvo, which
    reads `response.raw` itself after our validating hook has consumed it)."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, amt: int | None = None, decode_content: bool | None = None,
             **_: Any) -> bytes:
        return self._buffer.read(-1 if amt is None else amt)


def validating_requests_session(schemas: Any) -> Any:
    """A requests session (for pyvo) whose XML responses are validated on arrival."""
    import requests

    session = requests.Session()

    def check(response: Any, *_: Any, **__: Any) -> Any:
        if is_xml_type(response.headers.get("content-type")):
            data = response.content
            schemas.validate(data)
            response.raw = ReplayBody(data)
            session.validated += 1  # type: ignore[attr-defined]
        return response

    session.validated = 0  # type: ignore[attr-defined]
    session.hooks["response"].append(check)
    return session


def job_dir(service: LiveService, job_url: str) -> Any:
    """The job's directory in the service's data directory."""
    return service.data_dir / "jobs" / job_url.rsplit("/", 1)[-1]


def plain_text(client: UWSClient, url: str) -> str:
    """A text/plain resource of the service (a job's phase, owner, error...): HTTP 200."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text)
    assert media_type(response) == "text/plain", (url, response.headers)
    return response.text
