"""Logging in to the portal in a real browser through the test OpenID provider (the
authorization code flow with PKCE, the provider's own sign-in page driven as a person
would), and an administrator aborting someone else's job; against a real service on the
Docker engine. Every portal page is checked (console, axe-core) and screenshotted."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.keys import Keys

from tests.support.browser import Browser
from tests.support.browsing import check_page
from tests.support.oidc_node import ProviderUnavailable
from tests.support.oidc_provider import PORTAL_CLIENT, OIDCProvider
from tests.support.oidc_service import oidc_settings
from tests.support.services import LiveService

JOB_TIMEOUT = 300  # seconds for a container to start on a busy machine


@pytest.fixture(scope="module")
def login_site(tmp_path_factory: pytest.TempPathFactory,
               example_apps: dict[str, str]) -> Iterator[LiveService]:
    """A service that trusts the test provider and offers the portal's login (the client
    innerspace-portal, redirected back to this service's /portal/callback)."""
    service = LiveService(tmp_path_factory.mktemp("login-site"))
    provider = OIDCProvider(tmp_path_factory.mktemp("oidc"),
                            redirect_uris=(f"{service.url}/portal/callback",))
    try:
        provider.start()
    except ProviderUnavailable as exc:
        pytest.skip(str(exc))
    service.settings_overrides.update(
        auth=oidc_settings(provider, allow_anonymous=False),
        portal={"client_id": PORTAL_CLIENT, "client_secret": provider.portal_secret})
    service.start()
    yield service
    service.stop()
    provider.stop()


def expect_provider_errors(browser: Browser) -> None:
    """The provider's pages (not the portal's) have no icon and ask Google for a font the
    closed network refuses: their console errors are expected."""
    provider = urlsplit(browser.current_url)
    browser.expected_errors += [re.escape(f"{provider.scheme}://{provider.netloc}/"),
                                r"https://fonts\.googleapis\.com/"]


def log_in(browser: Browser, user: str, screenshot: bool = False) -> None:
    """From the home page: Log in, the provider's sign-in form, back at the portal."""
    browser.open("/portal")
    browser.click(".who a[href^='/portal/login']")
    browser.wait_for("form#login")  # the identity provider's page
    expect_provider_errors(browser)
    if screenshot:
        browser.screenshot("provider-sign-in")
    browser.type("form#login input[name=username]", user)
    browser.type("form#login input[name=password]", f"{user}-password")
    browser.press(Keys.ENTER)
    browser.wait_for_text(".who", f"Signed in as {user}")
    assert "/portal" in browser.current_url


def test_log_in_and_out(browser: Browser, login_site: LiveService) -> None:
    browser.base_url = login_site.url
    browser.open("/portal")
    assert "Log in" in browser.text(".who")
    check_page(browser, "home-anonymous")
    log_in(browser, "alice", screenshot=True)
    assert "(administrator)" not in browser.text(".who")
    check_page(browser, "home-alice", dark=True)
    browser.click(".who form button")  # Log out (a POST with the CSRF token) ...
    # ... which ends the provider's session too: its end_session_endpoint asks to confirm.
    browser.wait_for_url("/session/end")
    browser.click("button[value=yes]")
    browser.wait_until(lambda: "/session/end" not in browser.current_url
                       or "success" in browser.current_url, "the provider's sign-out")
    browser.open("/portal")
    browser.wait_for(".who a[href^='/portal/login']")
    assert "Signed in" not in browser.text(".who")
    check_page(browser, "logged-out")


def test_an_administrator_aborts_someone_elses_job(
        browser: Browser, make_browser: Callable[..., Browser],
        login_site: LiveService) -> None:
    alice = browser
    alice.base_url = login_site.url
    log_in(alice, "alice")
    alice.open("/portal/apps/hello")
    alice.type('input[name="delay"]', "600")  # long enough to be aborted
    alice.click("form.app-form button.primary")
    job_url = alice.wait_until(
        lambda: alice.current_url if "/portal/jobs/" in alice.current_url else None,
        "alice's job page")
    job_id = job_url.rstrip("/").rsplit("/", 1)[1]
    alice.wait_until(lambda: alice.text("#job-phase") == "EXECUTING", "the job to run",
                     timeout=JOB_TIMEOUT)

    root = make_browser(base_url=login_site.url)
    log_in(root, "root")
    assert "(administrator)" in root.text(".who")
    root.open("/portal/operators")
    check_page(root, "operators", dark=True)
    root.open("/portal/jobs?all=1")
    root.click(f"a[href='/portal/jobs/{job_id}']")
    root.wait_for_url(f"/portal/jobs/{job_id}")
    check_page(root, "job-of-alice-seen-by-root")
    root.click(f"form[action='/portal/jobs/{job_id}/abort'] button")
    root.wait_until(lambda: root.text("#job-phase") == "ABORTED", "the job to be aborted",
                    timeout=JOB_TIMEOUT)
    # Alice's open page learns it from the job's events.
    alice.wait_until(lambda: alice.text("#job-phase") == "ABORTED", "alice to see the abort",
                     timeout=JOB_TIMEOUT)
    check_page(alice, "job-aborted-by-root")
    root.assert_no_console_errors()
