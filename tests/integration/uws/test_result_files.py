"""The result files of a job are served by their ids only: path tricks (dot segments,
encoded slashes, absolute paths) and symlinks planted in a job's results, before or while
it runs, never serve anything else."""

from __future__ import annotations

import http.client
import os
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.services import LiveService
from tests.support.uwsclient import UWSClient, job_dir, media_type


@pytest.fixture(scope="module")
def finished(service: LiveService, xml_schemas: Any) -> tuple[str, str]:
    """Two completed hello jobs: the one tricks are played on, and a neighbour."""
    with UWSClient(service, xml_schemas) as client:
        first, doc = client.run(app="hello", name="Secret")
        second, other = client.run(app="hello", name="Neighbour")
    assert doc.phase == other.phase == "COMPLETED"
    return first, second


def raw_get(url: str, path: str) -> tuple[int, str, bytes]:
    """GET with the path sent exactly as written (httpx would remove dot segments)."""
    parts = urlsplit(url)
    assert parts.hostname, url
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("content-type", ""), response.read()
    finally:
        connection.close()


TRICKS = [
    "../params.json",
    "../logs/stdout.txt",
    "../../{other}/results/greeting.txt",
    "../../../innerspace.db",
    "%2e%2e/params.json",
    "%2e%2e%2fparams.json",
    "%2E%2E%2F%2E%2E%2F{other}%2Fresults%2Fgreeting.txt",
    "..%5cparams.json",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "//etc/passwd",
    "/{root}/results/greeting.txt",
]


@pytest.mark.parametrize("trick", TRICKS)
def test_result_path_tricks_are_not_served(service: LiveService, finished: tuple[str, str],
                                           trick: str) -> None:
    url, other = finished
    job_id, other_id = url.rsplit("/", 1)[-1], other.rsplit("/", 1)[-1]
    root = str(job_dir(service, url))
    path = f"/jobs/{job_id}/results/" + trick.format(other=other_id, root=root.lstrip("/"))
    status, content_type, body = raw_get(service.url, path)
    assert 400 <= status < 500, (path, status, body[:200])
    assert content_type.split(";")[0] == "text/plain", (path, content_type)
    for secret in (b"Hello, Secret", b"Hello, Neighbour", b'"name"', b"root:", b"SQLite"):
        assert secret not in body, (path, body[:200])


def test_real_result_is_served(service: LiveService, finished: tuple[str, str]) -> None:
    """The control for the tricks above: the honest path works over the same raw client."""
    url, _ = finished
    status, _, body = raw_get(service.url, urlsplit(url).path + "/results/greeting.txt")
    assert (status, body) == (200, b"Hello, Secret!\n")


def test_symlink_swapped_in_for_a_result_is_not_served(client: UWSClient,
                                                       service: LiveService) -> None:
    url, doc = client.run(app="hello", name="Swap")
    assert set(doc.results) == {"greeting.txt", "stdout", "stderr"}
    results = job_dir(service, url) / "results"
    target = results / "greeting.txt"
    target.unlink()
    os.symlink("/etc/passwd", target)
    response = client.get(f"{url}/results/greeting.txt")
    assert response.status_code == 404, response.status_code
    assert b"root:" not in response.content
    assert media_type(response) == "text/plain"


def test_symlinks_planted_by_a_running_app_are_ignored(client: UWSClient,
                                                       service: LiveService) -> None:
    # Long enough that the links are surely planted while it runs (seeing EXECUTING is not
    # a phase caught in passing), short enough to wait for its end.
    url = client.create(app="hello", delay="15", PHASE="RUN")
    client.wait_for(url, {"EXECUTING"})
    results = job_dir(service, url) / "results"
    os.symlink("/etc/passwd", results / "leak.txt")
    os.symlink("/etc", results / "leakdir")
    doc = client.wait_for(url)
    assert doc.phase == "COMPLETED"
    assert set(doc.results) == {"greeting.txt", "stdout", "stderr"}
    for name in ("leak.txt", "leakdir/passwd", "leakdir"):
        response = client.get(f"{url}/results/{name}")
        assert response.status_code == 404, (name, response.status_code)
        assert b"root:" not in response.content
