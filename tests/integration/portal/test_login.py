"""Logging in to the portal through the test OpenID provider (tests/support/oidc_provider.py,
a real oidc-provider), by the authorization code flow with PKCE, its sign-in page driven
as a browser would (tests/support/htmlforms.py): pages then show the user, a job run from
the portal is theirs, logging out ends it; a wrong state or a refusal is a 400 page saying
why; and the session cookie never authenticates the APIs."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from innerspace.portal.session import COOKIE
from tests.support.htmlforms import submit
from tests.support.oidc_node import ProviderUnavailable
from tests.support.oidc_provider import PORTAL_CLIENT, OIDCProvider
from tests.support.oidc_service import ADMINS, AUDIENCE
from tests.support.portal import BROWSER_ACCEPT, PortalService


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PortalService,
                                                                       OIDCProvider]]:
    """A portal whose visitors log in at the test provider as its `innerspace-portal`
    client (the service's port is chosen first: the provider must know the redirect URI)."""
    service = PortalService(tmp_path_factory.mktemp("portal-login"))
    provider = OIDCProvider(tmp_path_factory.mktemp("oidc"),
                            redirect_uris=(f"{service.url}/portal/callback",))
    try:
        provider.start()
    except ProviderUnavailable as exc:
        pytest.skip(str(exc))
    service.settings_overrides.update(
        auth={"issuer": provider.issuer, "audience": [AUDIENCE], "admin_groups": [ADMINS]},
        portal={"client_id": PORTAL_CLIENT, "client_secret": provider.portal_secret})
    try:
        with service:
            yield service, provider
    finally:
        provider.stop()


def browser() -> httpx.Client:
    return httpx.Client(headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False, timeout=60)


def log_in(web: httpx.Client, service: PortalService, username: str, password: str,
           next_page: str = "/portal") -> httpx.Response:
    """From the portal's Log in to the provider's sign-in page and back: the callback's
    answer."""
    page = web.get(f"{service.url}/portal/login", params={"next": next_page})
    assert page.status_code == 303, page.text
    for _ in range(12):
        if page.is_redirect:
            location = urljoin(str(page.url), page.headers["location"])
            page = web.get(location)
            if location.startswith(f"{service.url}/portal/callback"):
                return page
        elif page.status_code == 200 and 'id="login"' in page.text:
            page = submit(web, page, "login", username=username, password=password)
        else:
            break
    raise AssertionError(f"the login did not come back: {page.status_code} {page.text[:500]}")


def csrf_of(page: httpx.Response) -> dict[str, str]:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return {"csrf_token": found.group(1)}


def test_log_in_run_a_job_and_log_out(portal: tuple[PortalService, OIDCProvider]) -> None:
    service, provider = portal
    with browser() as web:
        home = web.get(f"{service.url}/portal")
        assert 'href="/portal/login?next=' in home.text and "Signed in" not in home.text
        back = log_in(web, service, "alice", provider.users["alice"].password, "/portal/apps")
        assert back.status_code == 303 and back.headers["location"] == "/portal/apps"
        cookie = web.cookies.get(COOKIE)
        assert cookie is not None
        assert "Signed in as <strong>alice</strong>" in web.get(f"{service.url}/portal").text

        form = web.get(f"{service.url}/portal/apps/hello")
        made = web.post(f"{service.url}/portal/apps/hello/run", data=csrf_of(form))
        assert made.status_code == 303, made.text
        job_id = made.headers["location"].rsplit("/", 1)[-1]
        assert web.get(f"{service.url}/portal/jobs/{job_id}").status_code == 200
        token = provider.device_login("alice", provider.users["alice"].password)["access_token"]
        with service.client(token) as api:
            assert api.get(f"/jobs/{job_id}/owner").text == "alice"

        # The cookie is the portal's only: the APIs want a bearer token.
        for path in ("/jobs", f"/jobs/{job_id}", "/usage"):
            assert web.get(f"{service.url}{path}").status_code == 401, path
        assert web.post(f"{service.url}/jobs", data={"app": "hello"}).status_code in (401, 403)

        out = web.post(f"{service.url}/portal/logout", data=csrf_of(form))
        assert out.status_code == 303
        end = provider.discovery()["end_session_endpoint"]
        assert out.headers["location"] == f"{end}?client_id={PORTAL_CLIENT}"
        assert web.cookies.get(COOKIE) is None
        after = web.get(f"{service.url}/portal")
        assert "Signed in" not in after.text and 'href="/portal/login?next=' in after.text


def test_an_administrator_logs_in_as_one(portal: tuple[PortalService, OIDCProvider]) -> None:
    service, provider = portal
    with browser() as web:
        log_in(web, service, "root", provider.users["root"].password)
        page = web.get(f"{service.url}/portal/operators")
        assert page.status_code == 200 and "(administrator)" in page.text


def test_a_wrong_state_is_refused(portal: tuple[PortalService, OIDCProvider]) -> None:
    service, _ = portal
    with browser() as web:
        started = web.get(f"{service.url}/portal/login")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        wrong = web.get(f"{service.url}/portal/callback",
                        params={"state": state[::-1], "code": "made-up"})
        assert wrong.status_code == 400
        assert "the login failed" in wrong.text and "state" in wrong.text
        # The login that was started is spent after a failed answer.
        again = web.get(f"{service.url}/portal/callback", params={"state": state, "code": "x"})
        assert again.status_code == 400 and "no login was started" in again.text
    with browser() as stranger:  # an answer reaching a browser that started no login
        assert stranger.get(f"{service.url}/portal/callback",
                            params={"state": state, "code": "x"}).status_code == 400


def test_a_refusal_at_the_provider_is_said(portal: tuple[PortalService, OIDCProvider]) -> None:
    service, _ = portal
    with browser() as web:
        started = web.get(f"{service.url}/portal/login")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        denied = web.get(f"{service.url}/portal/callback", params={
            "state": state, "error": "access_denied", "error_description": "no consent"})
        assert denied.status_code == 400
        assert "access_denied: no consent" in denied.text
        assert "Signed in" not in denied.text


def test_a_bad_code_is_refused(portal: tuple[PortalService, OIDCProvider]) -> None:
    service, _ = portal
    with browser() as web:
        started = web.get(f"{service.url}/portal/login")
        query = parse_qs(urlsplit(started.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]
        assert query["redirect_uri"] == [f"{service.url}/portal/callback"]
        bad = web.get(f"{service.url}/portal/callback",
                      params={"state": query["state"][0], "code": "forged"})
        assert bad.status_code == 400 and "gave no tokens (invalid_grant" in bad.text


def test_only_portal_pages_may_follow_a_login(portal: tuple[PortalService, OIDCProvider]
                                              ) -> None:
    service, provider = portal
    for target in ("https://evil.example/", "//evil.example/portal", "/jobs"):
        with browser() as web:
            back = log_in(web, service, "bob", provider.users["bob"].password, target)
            assert back.status_code == 303 and back.headers["location"] == "/portal", target


def test_no_login_without_a_portal_client(tmp_path_factory: pytest.TempPathFactory) -> None:
    with PortalService(tmp_path_factory.mktemp("anonymous")) as service, \
            service.browser() as web:
        assert web.get("/portal/login").status_code == 404
        assert "/portal/login" not in web.get("/portal").text


def test_a_session_renews_its_access_token(tmp_path_factory: pytest.TempPathFactory) -> None:
    """With offline_access the provider gives a refresh token: a page seen when the access
    token is about to expire (here: always, it lives 20 s) renews it, the visitor still
    logged in, without logging in again."""
    service = PortalService(tmp_path_factory.mktemp("portal-refresh"))
    provider = OIDCProvider(tmp_path_factory.mktemp("oidc-refresh"), access_token_ttl=20,
                            redirect_uris=(f"{service.url}/portal/callback",))
    try:
        provider.start()
    except ProviderUnavailable as exc:
        pytest.skip(str(exc))
    service.settings_overrides.update(
        auth={"issuer": provider.issuer, "audience": [AUDIENCE]},
        portal={"client_id": PORTAL_CLIENT, "client_secret": provider.portal_secret,
                "scopes": "openid offline_access"})
    try:
        with service, browser() as web:
            log_in(web, service, "alice", provider.users["alice"].password)
            first = session_of(web)
            assert first["token"] and first["extra"]["refresh"]
            assert "Signed in as <strong>alice</strong>" in web.get(f"{service.url}/portal").text
            renewed = session_of(web)
            assert renewed["token"] != first["token"]
            assert (renewed["id"], renewed["csrf"]) == (first["id"], first["csrf"])
    finally:
        provider.stop()


def session_of(web: httpx.Client) -> dict[str, Any]:
    """The session the browser's cookie holds (its signed JSON, read without the key)."""
    value = web.cookies.get(COOKIE)
    assert value is not None
    body = value.partition(".")[0]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return data
