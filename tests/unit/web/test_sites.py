"""Which sites a browser may reach the service from (web/sites.py): state-changing requests
from another origin refused with 403, DNS-rebound Host names with 400, each through the
renderer of the path's protocol; requests that are not a browser's pass. An in-process app,
no server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from innerspace.config import Settings
from innerspace.web.errors import ErrorRenderers, json_document
from innerspace.web.sites import CrossSiteWrites, HostPolicy, TrustedHosts, host_of, origin_of
from tests.support import asgi

PUBLIC = "https://vo.example.org"
PORTAL = "https://portal.example.net"


def renderers() -> ErrorRenderers:
    table = ErrorRenderers()
    table.register("/registry", json_document)
    return table


def site_app(**settings: Any) -> FastAPI:
    """POST, PUT, PATCH, DELETE and GET on /jobs, POST on /registry/refresh and on a
    read-only /query, behind both checks."""
    config = Settings(public_url=PUBLIC, allowed_origins=[PORTAL], **settings)
    app = FastAPI()

    @app.api_route("/jobs", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def jobs() -> str:
        return "done"

    @app.post("/registry/refresh")
    async def refresh() -> str:
        return "refreshed"

    @app.post("/query")
    async def query() -> str:
        return "rows"

    app.add_middleware(CrossSiteWrites, renderers=renderers(), public_url=config.public_url,
                       allowed_origins=config.allowed_origins, read_only=["/query"])
    app.add_middleware(TrustedHosts, renderers=renderers(), policy=HostPolicy.of(config))
    return app


def send(method: str, path: str = "/jobs", host: str = "vo.example.org",
         app: FastAPI | None = None, **headers: str) -> httpx.Response:
    """A request to `app` (a default one); header names spelt with _ for -."""
    return send_headers(method, {"host": host, **headers}, path, app)


def send_headers(method: str, headers: dict[str, str], path: str = "/jobs",
                 app: FastAPI | None = None) -> httpx.Response:
    return asgi.request(app or site_app(), method, path, headers={
        "host": "vo.example.org", **{k.replace("_", "-"): v for k, v in headers.items()}})


# -- origins ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "origin"), [
    ("https://VO.Example.org/", "https://vo.example.org"),
    ("https://vo.example.org:443", "https://vo.example.org"),
    ("http://vo.example.org:80/innerspace", "http://vo.example.org"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("http://[::1]:8000", "http://[::1]:8000"),
    ("null", None), ("", None), ("file:///etc", None), ("https://x:port", None),
])
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("origin", ["https://evil.example", "null", "https://vo.example.org:8443",
                                    "https://vo.example.org.evil.example", "garbage"])
def test_a_foreign_origin_may_not_change_anything(method: str, origin: str) -> None:
    response = send(method, origin=origin)
    assert response.status_code == 403
    assert response.text == (f"a request from the origin {origin!r} may not {method} here: it "
                             "is neither this service's origin nor one of its "
                             "allowed_origins\n")


def test_the_refusal_speaks_the_protocol_of_the_path() -> None:
    response = send("POST", "/registry/refresh", origin="https://evil.example")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert "'https://evil.example'" in response.json()["message"]


@pytest.mark.parametrize("headers", [
    {"origin": PUBLIC}, {"origin": "https://VO.example.org:443"}, {"origin": PORTAL},
    {}, {"sec_fetch_site": "same-origin"}, {"sec_fetch_site": "none"},
], ids=["public-url", "public-url-spelt-otherwise", "allowed", "no-origin", "same-origin",
        "typed-by-the-user"])
def test_own_allowed_and_non_browser_requests_pass(headers: dict[str, str]) -> None:
    for method in ("POST", "DELETE"):
        response = send_headers(method, headers)
        assert (response.status_code, response.json()) == (200, "done"), headers


def test_the_origin_the_request_came_to_is_the_services_own() -> None:
    """Without public_url (or reached another way), the scheme and Host of the request."""
    response = send("POST", host="127.0.0.1:8000", origin="http://127.0.0.1:8000")
    assert response.status_code == 200
    response = send("POST", host="127.0.0.1:8000", origin="http://127.0.0.1:8001")
    assert response.status_code == 403


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_another_sites_page_without_origin_is_refused(site: str) -> None:
    response = send("POST", sec_fetch_site=site)
    assert response.status_code == 403
    assert response.text == f"a {site} request (Sec-Fetch-Site) may not POST here\n"


def test_reading_is_never_refused() -> None:
    assert send("GET", origin="https://evil.example").status_code == 200
    response = send("POST", "/query", origin="https://evil.example")
    assert (response.status_code, response.json()) == (200, "rows")


# -- hosts -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "host"), [
    ("VO.example.org:8443", "vo.example.org"), ("vo.example.org.", "vo.example.org"),
    ("[::1]:8000", "::1"), ("127.0.0.1", "127.0.0.1"), ("::1", "::1"),
])
def test_host_of(header: str, host: str) -> None:
    assert host_of(header) == host


@pytest.mark.parametrize("host", ["vo.example.org", "vo.example.org:8443", "localhost:8000",
                                  "127.0.0.1:8000", "10.1.2.3", "[::1]:8000",
                                  "[2001:db8::1]"])
def test_by_default_the_public_name_localhost_and_addresses_are_answered(host: str) -> None:
    assert send("GET", host=host).status_code == 200


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("host", ["evil.example", "vo.example.org.evil.example",
                                  "127.0.0.1.nip.io", "localhost.evil.example"])
def test_a_rebound_host_name_is_400(method: str, host: str) -> None:
    response = send(method, host=host, origin=f"http://{host}")
    assert response.status_code == 400
    assert response.text == (f"this service does not answer to the host name {host!r} (its "
                             "trusted_hosts setting lists those it answers to)\n")


def test_configured_trusted_hosts_are_exactly_those() -> None:
    app = site_app(trusted_hosts=["vo.example.org", "*.mirror.example"])
    assert send("GET", host="vo.example.org", app=app).status_code == 200
    assert send("GET", host="eu.mirror.example", app=app).status_code == 200
    for host in ("mirror.example", "127.0.0.1", "localhost", "evil.example"):
        assert send("GET", host=host, app=app).status_code == 400, host


def test_any_host_when_configured() -> None:
    app = site_app(trusted_hosts="*")
    assert send("GET", host="anything.example", app=app).status_code == 200


def test_the_execution_url_is_a_trusted_host() -> None:
    policy = HostPolicy.of(Settings(public_url="http://127.0.0.1:8000",
                                    datacentre={"execution_url": "https://uws.example/jobs"}))
    assert policy.trusts("uws.example") and policy.trusts("127.0.0.1")
    assert policy.trusts("localhost") and not policy.trusts("example")


@pytest.mark.parametrize(("value", "expected"), [
    ("https://a.example, http://B.example:8080/", ["https://a.example", "http://b.example:8080"]),
    ('["https://a.example"]', ["https://a.example"]),
])
def test_allowed_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str,
                                              expected: list[str]) -> None:
    monkeypatch.setenv("INNERSPACE_ALLOWED_ORIGINS", value)
    monkeypatch.setenv("INNERSPACE_TRUSTED_HOSTS", "vo.example, *.mirror.example")
    settings = Settings()
    assert settings.allowed_origins == expected
    assert settings.trusted_hosts == ["vo.example", "*.mirror.example"]


@pytest.mark.parametrize("bad", ["vo.example", "ftp://vo.example", "https://vo.example/path",
                                 "https://vo.example:port", "https://user@vo.example"])
def test_an_allowed_origin_must_be_an_origin(bad: str) -> None:
    with pytest.raises(ValueError, match="is not scheme://host"):
        Settings(allowed_origins=[bad])


@pytest.mark.parametrize("bad", ["https://vo.example", "vo.example/x", "", "a b"])
def test_a_trusted_host_must_be_a_host(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a host name or address"):
        Settings(trusted_hosts=[bad])
