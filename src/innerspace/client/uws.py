"""A UWS 1.1 client for innerspace services. A job is a live handle (as in pyvo): its
properties read the service, `wait()` blocks server-side with UWS WAIT, and the handle can
delete the job when used as a context manager."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from lxml import etree

from innerspace.client.errors import ClientError
from innerspace.client.tokens import stored_auth

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
XLINK = "{http://www.w3.org/1999/xlink}"
FINAL_PHASES = frozenset({"COMPLETED", "ERROR", "ABORTED", "ARCHIVED"})
DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class ResultRef:
    id: str
    href: str
    size: int | None
    mime_type: str | None


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a job, parsed from its UWS document."""

    job_id: str
    phase: str
    owner: str | None
    run_id: str | None
    creation_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    quote: datetime | None
    execution_duration: int | None
    destruction: datetime | None
    parameters: dict[str, str]  # the app's own (without `app`, which is `app` below)
    results: list[ResultRef]
    error: str | None
    info: dict[str, str] = field(default_factory=dict)
    app: str | None = None  # the reference that creates the job again (its `app` parameter)

    @property
    def is_final(self) -> bool:
        return self.phase in FINAL_PHASES


def _time(element: Any) -> datetime | None:
    if element is None or not (element.text or "").strip():
        return None
    return datetime.fromisoformat(element.text.strip().replace("Z", "+00:00"))


def parse_job(document: bytes) -> JobStatus:
    root = etree.fromstring(document, etree.XMLParser(no_network=True, resolve_entities=False))

    def text(tag: str) -> str | None:
        node = root.find(f"{UWS}{tag}")
        return node.text if node is not None and node.text else None

    duration = text("executionDuration")
    error_node = root.find(f"{UWS}errorSummary/{UWS}message")
    info = {etree.QName(node).localname: node.text or ""
            for node in root.findall(f"{UWS}jobInfo/*")}
    return JobStatus(
        job_id=text("jobId") or "",
        phase=text("phase") or "UNKNOWN",
        owner=text("ownerId"),
        run_id=text("runId"),
        creation_time=_time(root.find(f"{UWS}creationTime")),
        start_time=_time(root.find(f"{UWS}startTime")),
        end_time=_time(root.find(f"{UWS}endTime")),
        quote=_time(root.find(f"{UWS}quote")),
        execution_duration=int(duration) if duration else None,
        destruction=_time(root.find(f"{UWS}destruction")),
        parameters={p.get("id", ""): p.text or "" for p in root.iter(f"{UWS}parameter")
                    if p.get("id") != "app"},
        results=[ResultRef(r.get("id", ""), r.get(f"{XLINK}href", ""),
                           int(size) if (size := r.get("size")) else None, r.get("mime-type"))
                 for r in root.iter(f"{UWS}result")],
        error=error_node.text if error_node is not None else None,
        info=info,
        app=next((p.text for p in root.iter(f"{UWS}parameter") if p.get("id") == "app"),
                 None),
    )


class Client:
    """Talks to one innerspace service. `token` defaults to $INNERSPACE_TOKEN, then to the
    login `innerspace login` stored for `url` (refreshed as needed); without any, requests
    are anonymous."""

    def __init__(self, url: str | None = None, token: str | None = None,
                 timeout: float = 30.0) -> None:
        self.url = (url or os.environ.get("INNERSPACE_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("INNERSPACE_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        auth = None if token else stored_auth(self.url)
        # Drop idle connections well before servers do (uvicorn: after 5 s), so that a
        # request never goes out on a connection the server is closing.
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout,
                                  auth=auth, limits=httpx.Limits(keepalive_expiry=2.0))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # A kept-alive connection the server has just closed fails at once; a request that
        # changes nothing is safely sent again, once, on a fresh connection.
        attempts = 2 if method in ("GET", "HEAD") else 1
        for attempt in range(attempts):
            try:
                response = self._http.request(method, path, **kwargs)
                break
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if attempt + 1 < attempts:
                    continue
                raise ClientError(f"cannot reach the innerspace service at {self.url}: "
                                  f"{exc}") from exc
            except httpx.TransportError as exc:
                raise ClientError(f"cannot reach the innerspace service at {self.url}: "
                                  f"{exc}") from exc
        if response.status_code >= 400:
            raise ClientError(response.text.strip() or response.reason_phrase,
                              response.status_code)
        return response

    def apps(self) -> list[dict[str, Any]]:
        """The service's app catalogue (each app version with its digest and parameters)."""
        return list(self.request("GET", "/apps").json()["apps"])

    def catalogue(self) -> dict[str, Any]:
        """Where the catalogue comes from and whether it is stale."""
        return dict(self.request("GET", "/apps").json()["catalogue"])

    def app(self, name: str) -> list[dict[str, Any]]:
        """Every version of one app."""
        return list(self.request("GET", f"/apps/{quote(name)}").json()["versions"])

    def refresh_apps(self) -> None:
        self.request("POST", "/apps/refresh")

    def submit(self, app: str, params: dict[str, Any] | None = None,
               files: dict[str, str | Path] | None = None, run: bool = True,
               run_id: str | None = None, **more: Any) -> JobHandle:
        """Create a job for `app` (name or name:version) and, by default, start it."""
        data: dict[str, str] = {"app": app}
        for key, value in {**(params or {}), **more}.items():
            data[key] = str(value).lower() if isinstance(value, bool) else str(value)
        if run:
            data["PHASE"] = "RUN"
        if run_id:
            data["RUNID"] = run_id
        with contextlib.ExitStack() as stack:
            upload = {
                key: (Path(path).name, stack.enter_context(Path(path).open("rb")),
                      "application/octet-stream")
                for key, path in (files or {}).items()
            }
            response = self.request("POST", "/jobs", data=data, files=upload or None,
                                    follow_redirects=False)
        location = response.headers.get("location", "")
        job_id = location.rstrip("/").rsplit("/", 1)[-1]
        if response.status_code != 303 or not job_id:
            raise ClientError(f"unexpected answer to job creation: {response.status_code}")
        return JobHandle(self, job_id)

    def job(self, job_id: str) -> JobHandle:
        return JobHandle(self, job_id)

    def usage(self, owner: str | None = None) -> dict[str, Any]:
        """Your jobs' usage of the service and your limits (GET /usage): owner, running,
        queued, jobs by phase, storage_bytes, limits (None: no limit). Administrators may
        ask for another `owner`'s."""
        params = {"owner": owner} if owner else None
        return dict(self.request("GET", "/usage", params=params).json())

    def jobs(self, phases: list[str] | None = None, last: int | None = None,
             after: str | None = None, owner: str | None = None
             ) -> list[dict[str, str | None]]:
        """Your jobs (UWS filters PHASE, LAST, AFTER); administrators may name another
        `owner`, or `*` for everyone's."""
        params: list[tuple[str, str]] = [("PHASE", p) for p in phases or []]
        if last:
            params.append(("LAST", str(last)))
        if after:
            params.append(("AFTER", after))
        if owner:
            params.append(("OWNER", owner))
        root = etree.fromstring(self.request("GET", "/jobs", params=params).content)
        return [{"id": ref.get("id"),
                 "phase": ref.findtext(f"{UWS}phase"),
                 "owner": ref.findtext(f"{UWS}ownerId") or None,
                 "run_id": ref.findtext(f"{UWS}runId"),
                 "created": ref.findtext(f"{UWS}creationTime")}
                for ref in root.iter(f"{UWS}jobref")]


class JobHandle:
    """A live handle on one job of a service."""

    def __init__(self, client: Client, job_id: str) -> None:
        self.client = client
        self.job_id = job_id
        self.url = f"{client.url}/jobs/{job_id}"

    def __repr__(self) -> str:
        return f"<JobHandle {self.url}>"

    def status(self, wait: int | None = None, phase: str | None = None) -> JobStatus:
        params: dict[str, str] = {}
        if wait is not None:
            params["WAIT"] = str(wait)
            if phase:
                params["PHASE"] = phase
        timeout = None if wait is None else max(30.0, wait + 30.0)
        response = self.client.request("GET", f"/jobs/{self.job_id}", params=params,
                                       timeout=timeout)
        return parse_job(response.content)

    @property
    def phase(self) -> str:
        return self.client.request("GET", f"/jobs/{self.job_id}/phase").text.strip()

    @property
    def results(self) -> list[ResultRef]:
        return self.status().results

    def run(self) -> JobHandle:
        self.client.request("POST", f"/jobs/{self.job_id}/phase", data={"PHASE": "RUN"})
        return self

    def abort(self) -> JobHandle:
        self.client.request("POST", f"/jobs/{self.job_id}/phase", data={"PHASE": "ABORT"})
        return self

    def delete(self) -> None:
        self.client.request("DELETE", f"/jobs/{self.job_id}", follow_redirects=False)

    def watch(self, timeout: float | None = None, step: int = 60) -> Iterator[JobStatus]:
        """Yield the job's status at every phase change until it ends (UWS WAIT)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        status = self.status()
        yield status
        while not status.is_final:
            remaining = step if deadline is None else int(min(step, deadline - time.monotonic()))
            if remaining <= 0:
                raise TimeoutError(f"job {self.job_id} still {status.phase} after {timeout} s")
            previous = status.phase
            status = self.status(wait=remaining)
            if status.phase != previous or status.is_final:
                yield status

    def wait(self, timeout: float | None = None,
             on_change: Callable[[JobStatus], None] | None = None) -> JobStatus:
        """Block until the job is COMPLETED, ERROR or ABORTED; return its final status."""
        status = None
        for status in self.watch(timeout):
            if on_change:
                on_change(status)
        assert status is not None
        return status

    def raise_if_error(self) -> None:
        status = self.status()
        if status.phase in ("ERROR", "ABORTED"):
            raise ClientError(f"job {self.job_id} {status.phase}: {status.error or ''}")

    def fetch(self, result_id: str) -> bytes:
        path = f"/jobs/{self.job_id}/results/{quote(result_id, safe='/')}"
        return self.client.request("GET", path).content

    def download(self, directory: str | Path) -> list[Path]:
        """Save every result into `directory` (created if needed); return the paths."""
        target = Path(directory)
        saved = []
        for result in self.results:
            path = (target / result.id).resolve()
            if target.resolve() not in path.parents:
                raise ClientError(f"refusing result id {result.id!r}: outside {target}")
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"/jobs/{self.job_id}/results/{quote(result.id, safe='/')}"
            with self.client._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise ClientError(f"result {result.id}: {response.read().decode()}",
                                      response.status_code)
                with path.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
            saved.append(path)
        return saved

    def __enter__(self) -> JobHandle:
        return self

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(ClientError):
            self.delete()
