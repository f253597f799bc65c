"""Cross-site requests and DNS rebinding (issue 11, item 6), against a real service: a page
of another origin cannot create, run, change or delete jobs, nor trigger refreshes (403,
nothing changes); the service's own origin, an allowed origin and clients that send no
Origin (curl, pyvo) can; a Host name the service is not known by is refused (400) on GET and
POST; the read-only protocol POSTs stay open."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.services import LiveService
from tests.support.uwsclient import UWSClient, job_id_of

EVIL = "https://evil.example"
PORTAL = "https://portal.example.net"  # web_service's allowed origin


@pytest.fixture
def client(web_service: LiveService, xml_schemas: Any) -> Any:
    with UWSClient(web_service, xml_schemas) as uws_client:
        yield uws_client


@pytest.fixture
def pending(client: UWSClient) -> str:
    return client.create(app="hello", name="Ada", EXECUTIONDURATION="100")


def refused(response: httpx.Response, origin: str = EVIL) -> None:
    assert response.status_code == 403, (response.status_code, response.text)
    assert f"origin {origin!r}" in response.text
    assert "allowed_origins" in response.text


def job_ids(client: UWSClient) -> list[str]:
    return [ref.id for ref in client.job_list()]


@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_cannot_create_a_job(client: UWSClient, origin: str) -> None:
    before = job_ids(client)
    response = client.http.post("/jobs", data={"app": "hello", "PHASE": "RUN"},
                                headers={"Origin": origin})
    refused(response, origin)
    assert response.headers["content-type"].startswith("text/plain")
    assert job_ids(client) == before


def test_a_foreign_origin_cannot_touch_a_job(client: UWSClient, pending: str) -> None:
    evil = {"Origin": EVIL}
    before = client.job(pending)
    refused(client.http.post(f"{pending}/phase", data={"PHASE": "RUN"}, headers=evil))
    refused(client.http.post(pending, data={"PHASE": "RUN"}, headers=evil))
    refused(client.http.post(pending, data={"ACTION": "DELETE"}, headers=evil))
    refused(client.http.delete(pending, headers=evil))
    refused(client.http.post(f"{pending}/parameters", data={"name": "Mallory"}, headers=evil))
    refused(client.http.post(f"{pending}/executionduration", data={"EXECUTIONDURATION": "5"},
                             headers=evil))
    refused(client.http.post(f"{pending}/destruction",
                             data={"DESTRUCTION": "2030-01-01T00:00:00Z"}, headers=evil))
    after = client.job(pending)
    assert (after.phase, after.parameters["name"].text) == ("PENDING", "Ada")
    for name in ("executionDuration", "destruction"):
        assert after.text(name) == before.text(name), name
    assert job_id_of(pending) in job_ids(client)


def test_a_browser_page_of_another_site_without_origin_is_refused(client: UWSClient) -> None:
    before = job_ids(client)
    response = client.http.post("/jobs", data={"app": "hello"},
                                headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert response.text == "a cross-site request (Sec-Fetch-Site) may not POST here\n"
    assert job_ids(client) == before


@pytest.mark.parametrize("path", ["/registry/refresh", "/registry/harvest", "/apps/refresh"])
def test_a_foreign_origin_cannot_trigger_refreshes(http: httpx.Client, path: str) -> None:
    response = http.post(path, headers={"Origin": EVIL})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "forbidden"
    assert f"origin {EVIL!r}" in response.json()["message"]


@pytest.mark.parametrize("headers", [
    {"Origin": PORTAL}, {"Origin": "SELF"}, {}, {"Sec-Fetch-Site": "same-origin"},
], ids=["allowed-origin", "same-origin", "no-origin", "sec-fetch-same-origin"])
def test_own_allowed_and_non_browser_clients_can_change_jobs(
        client: UWSClient, web_service: LiveService, headers: dict[str, str]) -> None:
    headers = {k: web_service.url if v == "SELF" else v for k, v in headers.items()}
    created = client.http.post("/jobs", data={"app": "hello", "name": "Ada"}, headers=headers)
    assert created.status_code == 303, created.text
    job_url = created.headers["location"]
    changed = client.http.post(f"{job_url}/parameters", data={"name": "Grace"}, headers=headers)
    assert changed.status_code == 303, changed.text
    assert client.job(job_url).parameters["name"].text == "Grace"
    deleted = client.http.delete(job_url, headers=headers)
    assert deleted.status_code == 303, deleted.text
    assert job_id_of(job_url) not in job_ids(client)


def test_read_only_protocol_posts_stay_open_to_other_sites(http: httpx.Client) -> None:
    tap = http.post("/registry/tap/sync", headers={"Origin": EVIL}, data={
        "LANG": "ADQL", "QUERY": "SELECT ivoid FROM rr.resource"})
    assert tap.status_code == 200, tap.text
    oai = http.post("/registry/oai", headers={"Origin": EVIL}, data={"verb": "Identify"})
    assert oai.status_code == 200 and b":Identify>" in oai.content


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io"])
def test_a_rebound_host_name_is_refused(client: UWSClient, web_service: LiveService,
                                        host: str) -> None:
    before = job_ids(client)
    got = client.http.get("/jobs", headers={"Host": host})
    assert got.status_code == 400
    name = host.split(":")[0]
    assert got.text == (f"this service does not answer to the host name {name!r} (its "
                        "trusted_hosts setting lists those it answers to)\n")
    posted = client.http.post("/jobs", data={"app": "hello", "PHASE": "RUN"},
                              headers={"Host": host, "Origin": f"http://{host}"})
    assert posted.status_code == 400
    assert job_ids(client) == before


def test_loopback_names_and_addresses_are_answered(web_service: LiveService) -> None:
    for host in ("127.0.0.1", "localhost"):
        with httpx.Client(base_url=f"http://{host}:{web_service.port}", timeout=60) as http:
            assert http.get("/availability").status_code == 200, host
