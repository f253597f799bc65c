"""Fixtures of the portal's tests.

Without a browser: the service on the fake engine with a catalogue of every kind of parameter
(tests/support/portal.py), anonymous or with tokens.

With a real headless Chromium driven by selenium (tests/support/browser.py), axe-core
installed once from the npm lock file:
- `browser`: the session's one Chromium, handed to each test as new (one blank tab, no
  cookies or storage, the default viewport and preferences; see Browser.reset);
- `make_browser`: more browsers of the test's own (another user, another viewport), each
  with its own profile, all closed after the test.
They skip, saying why, when chromium, chromedriver or node is missing (`make setup` installs
them). Tests using them are marked `browser` from their fixtures; when one fails, its report
gets the end of chromedriver's log and the pages' console."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import Browser, BrowserFactory
from tests.support.browser_setup import BrowserUnavailable, install_axe
from tests.support.node_modules import NodeUnavailable
from tests.support.portal import PortalService
from tests.support.progress import live_progress
from tests.support.services import LiveService

ADMINS = "innerspace-admins"
TOKENS = {"alice-token": {"owner": "alice", "groups": ["astro"]},
          "bob-token": {"owner": "bob"},
          "root-token": {"owner": "root", "groups": [ADMINS]}}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalService]:
    """Anonymous access (no auth configured)."""
    with PortalService(tmp_path_factory.mktemp("portal")) as service:
        yield service


@pytest.fixture(scope="module")
def portal_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalService]:
    """Development tokens only: anonymous visitors may look but not run."""
    with PortalService(tmp_path_factory.mktemp("portal-auth"),
                       auth={"tokens": TOKENS, "admin_groups": [ADMINS],
                             "allow_anonymous": False}) as service:
        yield service


# -- the browser ----------------------------------------------------------------------------

BROWSER_FIXTURES = frozenset({"browser", "make_browser"})
# The browsers a test used, with the size of each one's chromedriver log when it began.
USED = pytest.StashKey[list[tuple[Browser, int]]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed:
        used: list[tuple[Browser, int]] = item.stash.get(USED, [])
        for number, (browser, since) in enumerate(used, 1):
            console = "\n".join(str(entry) for entry in _console(browser)) or "(empty)"
            report.sections.append((f"browser {number} console", console))
            report.sections.append((f"browser {number} chromedriver log",
                                    browser.log_tail(since)))
    return report


def _console(browser: Browser) -> list[Any]:
    try:
        return list(browser.console_entries())
    except Exception as exc:  # a crashed browser still gets its log shown
        return [f"(the console could not be read: {exc})"]



def _start(factory: BrowserFactory, **options: Any) -> Browser:
    try:
        return factory(**options)
    except BrowserUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def axe_script(pytestconfig: pytest.Config) -> Path:
    """axe-core's axe.min.js, installed under .run/browser-modules/ once per lock file."""
    try:
        return install_axe(live_progress(pytestconfig, "browser"))
    except NodeUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def session_browser(tmp_path_factory: pytest.TempPathFactory,
                    axe_script: Path) -> Iterator[Browser]:
    factory = BrowserFactory(tmp_path_factory.mktemp, axe_script)
    yield _start(factory)
    factory.close_all()


@pytest.fixture
def browser(session_browser: Browser, request: pytest.FixtureRequest) -> Browser:
    """The session's Chromium, as new: 1280 x 900 CSS pixels, light, reduced motion."""
    session_browser.reset()
    request.node.stash.setdefault(USED, []).append((session_browser,
                                                    session_browser.log_size()))
    return session_browser


@pytest.fixture
def make_browser(tmp_path_factory: pytest.TempPathFactory, axe_script: Path,
                 request: pytest.FixtureRequest) -> Iterator[Callable[..., Browser]]:
    """Start browsers of the test's own (Browser's keyword arguments: base_url, width,
    height, color_scheme, reduced_motion, timeout); all are closed after the test."""
    factory = BrowserFactory(tmp_path_factory.mktemp, axe_script)

    def make(**options: Any) -> Browser:
        browser = _start(factory, **options)
        request.node.stash.setdefault(USED, []).append((browser, 0))
        return browser

    yield make
    factory.close_all()


# -- a real service for the browser ---------------------------------------------------------


@pytest.fixture(scope="module")
def site_service(tmp_path_factory: pytest.TempPathFactory,
                 example_apps: dict[str, str]) -> Iterator[LiveService]:
    """A real innerspace service on the local Docker engine with the example apps (hello,
    fits-stats, xmatch) in its catalogue; anonymous access."""
    live = LiveService(tmp_path_factory.mktemp("site")).start()
    yield live
    live.stop()


@pytest.fixture
def visitor(browser: Browser, site_service: LiveService) -> Browser:
    """The session's browser, at the site (relative addresses are the site's)."""
    browser.base_url = site_service.url
    return browser
