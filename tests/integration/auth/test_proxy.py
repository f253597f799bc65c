"""Behind an authenticating proxy: its user and groups headers are believed from the
configured proxy addresses only. The services here listen on a real loopback socket, so the
TCP peer of every request is 127.0.0.1: trusted by one service, not by the other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.support.fake_service import FakeEngineService
from tests.support.services import ProcessService

MakeService = Callable[..., FakeEngineService]
PROXIED = {"X-Auth-Request-User": "ada", "X-Auth-Request-Groups": "astro,innerspace-admins"}


def get(service: FakeEngineService | ProcessService, path: str = "/jobs",
        **headers: str) -> httpx.Response:
    return httpx.get(f"{service.url}{path}", headers=headers, timeout=60)


def test_a_trusted_proxy_names_the_user(make_auth_service: MakeService) -> None:
    service = make_auth_service(trusted_proxies=["127.0.0.1"],
                                admin_groups=["innerspace-admins"])
    answer = get(service, **PROXIED)
    assert answer.status_code == 200 and answer.headers["x-vo-authenticated"] == "ada"
    created = httpx.post(f"{service.url}/jobs", data={"app": "demo"}, headers=PROXIED)
    assert created.status_code == 303
    assert get(service, created.headers["location"].removeprefix(service.url) + "/owner",
               **PROXIED).text.strip() == "ada"
    # Another user through the same proxy does not see ada's job.
    other = get(service, created.headers["location"].removeprefix(service.url),
                **{"X-Auth-Request-User": "bob"})
    assert other.status_code == 404 and other.headers["x-vo-authenticated"] == "bob"
    # Without the header the proxy let the request through unauthenticated: refused.
    assert get(service).status_code == 401


def test_proxy_headers_from_an_untrusted_peer_are_ignored(
        make_auth_service: MakeService) -> None:
    service = make_auth_service(trusted_proxies=["10.9.8.7"], tokens={"bob-token": "bob"})
    refused = get(service, **PROXIED)
    assert refused.status_code == 401 and "x-vo-authenticated" not in refused.headers
    assert refused.text == "this service needs a bearer token (Authorization: Bearer ...)\n"
    # Bearer tokens still work from there, and the headers change nothing about them.
    answer = get(service, **PROXIED, Authorization="Bearer bob-token")
    assert answer.status_code == 200 and answer.headers["x-vo-authenticated"] == "bob"


def test_forwarded_for_does_not_make_a_peer_trusted(tmp_path: Path, docker_client: Any) -> None:
    """`innerspace serve` itself (uvicorn as operators run it): a client on 127.0.0.1
    claiming to come through the trusted proxy 10.9.8.7 is still 127.0.0.1."""
    service = ProcessService(tmp_path, auth={"trusted_proxies": ["10.9.8.7"],
                                             "allow_anonymous": False}).start()
    try:
        for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
            value = "for=10.9.8.7" if header == "Forwarded" else "10.9.8.7"
            answer = get(service, **PROXIED, **{header: value})
            assert answer.status_code == 401, (header, answer.status_code)
            assert "x-vo-authenticated" not in answer.headers
    finally:
        service.stop()
