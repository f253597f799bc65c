"""Small helpers for tests that drive jobs over HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx
from lxml import etree

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
FINAL = {"COMPLETED", "ERROR", "ABORTED", "ARCHIVED"}


def create(http: httpx.Client, data: dict[str, Any], files: Any = None) -> str:
    """POST a job; assert the 303 and return the job URL."""
    response = http.post("/jobs", data=data, files=files)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def phase(http: httpx.Client, job_url: str) -> str:
    return http.get(f"{job_url}/phase").text


def wait_final(http: httpx.Client, job_url: str, timeout: float = 120) -> Any:
    """Follow a job with UWS WAIT until it ends; return the parsed job document."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(job_url, params={"WAIT": 10})
        assert response.status_code == 200, response.text
        root = etree.fromstring(response.content)
        if root.findtext(f"{UWS}phase") in FINAL:
            return root
        assert time.monotonic() < deadline, f"{job_url} did not end within {timeout} s"


def wait_phase(http: httpx.Client, job_url: str, wanted: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (current := phase(http, job_url)) != wanted:
        assert current not in FINAL or wanted in FINAL, f"job ended {current}, wanted {wanted}"
        assert time.monotonic() < deadline, f"{job_url} still {current}, wanted {wanted}"
        http.get(job_url, params={"WAIT": 2, "PHASE": current})


def results(root: Any) -> dict[str, dict[str, str]]:
    return {r.get("id"): dict(r.attrib) for r in root.iter(f"{UWS}result")}
