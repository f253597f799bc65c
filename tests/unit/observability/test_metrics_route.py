"""Who may read /metrics: a direct request from metrics.allow_from (loopback by default),
an administrator or a member of metrics.groups from anywhere; a request through a proxy,
even from loopback, needs credentials; nobody when metrics are off."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from innerspace.config import Settings
from innerspace.observability.access import direct_from, networks
from innerspace.server import create_app

ADMIN, USER, SCRAPER = "admin-token-1", "user-token-1", "scraper-token-1"
AUTH = {"tokens": {ADMIN: {"owner": "root", "groups": ["innerspace-admins"]},
                   USER: {"owner": "alice", "groups": ["astro"]},
                   SCRAPER: {"owner": "prometheus", "groups": ["monitoring"]}},
        "admin_groups": ["innerspace-admins"]}
REMOTE = ("203.0.113.9", 40000)


def get(tmp_path: Path, peer: tuple[str, int] = ("127.0.0.1", 40000),
        headers: dict[str, str] | None = None, **settings: Any) -> httpx.Response:
    app = create_app(Settings(data_dir=tmp_path, **settings))

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            await c.get("/schemas/app-manifest.json")  # a request to count
            return await c.get("/metrics", headers=headers or {})

    return asyncio.run(run())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_direct_scrape_from_loopback_reads_the_metrics(tmp_path: Path) -> None:
    answer = get(tmp_path, auth=AUTH)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert ('innerspace_http_requests_total{method="GET",route="/schemas/app-manifest.json",'
            'status="200"} 1.0') in answer.text
    assert "# TYPE innerspace_job_wait_seconds histogram" in answer.text


def test_openmetrics_when_the_scraper_asks_for_it(tmp_path: Path) -> None:
    answer = get(tmp_path, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")


def test_others_need_an_admin_or_a_metrics_group(tmp_path: Path) -> None:
    settings: dict[str, Any] = {"auth": AUTH, "metrics": {"groups": ["monitoring"]}}
    nobody = get(tmp_path / "a", REMOTE, **settings)
    assert nobody.status_code == 401 and "Bearer" in nobody.headers["www-authenticate"]
    user = get(tmp_path / "b", REMOTE, bearer(USER), **settings)
    assert user.status_code == 403 and "metrics.groups" in user.text
    assert get(tmp_path / "c", REMOTE, bearer(ADMIN), **settings).status_code == 200
    assert get(tmp_path / "d", REMOTE, bearer(SCRAPER), **settings).status_code == 200


def test_a_proxied_request_from_loopback_is_not_a_direct_one(tmp_path: Path) -> None:
    # A reverse proxy on this machine must not open /metrics to everyone behind it.
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        answer = get(tmp_path / header, headers={header: "198.51.100.4"})
        assert answer.status_code == 403, header  # anonymous service: known, not allowed
    proxied_admin = get(tmp_path / "admin", headers={"X-Forwarded-For": "198.51.100.4",
                                                     **bearer(ADMIN)}, auth=AUTH)
    assert proxied_admin.status_code == 200


def test_allow_from_and_enabled(tmp_path: Path) -> None:
    closed = get(tmp_path / "a", metrics={"allow_from": []}, auth=AUTH)
    assert closed.status_code == 401
    opened = get(tmp_path / "b", REMOTE, metrics={"allow_from": ["203.0.113.0/24"]})
    assert opened.status_code == 200
    off = get(tmp_path / "c", metrics={"enabled": False})
    assert off.status_code == 404 and "metrics.enabled" in off.text


def test_direct_from() -> None:
    loopback = networks(["127.0.0.0/8", "::1/128"])
    assert direct_from("127.0.0.1", {}, loopback) and direct_from("::1", {}, loopback)
    assert direct_from("::ffff:127.0.0.1", {}, loopback), "an IPv4 peer on an IPv6 socket"
    assert not direct_from("10.0.0.1", {}, loopback)
    assert not direct_from("127.0.0.1", {"x-forwarded-for": "10.0.0.1"}, loopback)
    assert not direct_from(None, {}, loopback) and not direct_from("testclient", {}, loopback)
