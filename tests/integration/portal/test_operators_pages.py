"""The operators' page: administrators only (a 403 page for anyone else); the queue, the
engine, the catalogue and the registry's harvests; its two buttons go through the same
trigger check and rate limit as POST /apps/refresh and /registry/harvest, with CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.portal.conftest import ADMINS, TOKENS
from tests.support.portal_registry import Federation


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with Federation(tmp_path_factory.mktemp("operators"),
                    auth={"tokens": TOKENS, "admin_groups": [ADMINS],
                          "allow_anonymous": False},
                    registry={"trigger_burst": 2, "trigger_interval": 3600}) as started:
        yield started


def browser(federation: Federation, token: str | None = None) -> httpx.Client:
    return federation.north.browser(**({"Authorization": f"Bearer {token}"} if token else {}))


def csrf_of(page: httpx.Response) -> dict[str, str]:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return {"csrf_token": found.group(1)}


def test_only_administrators_see_the_page(federation: Federation) -> None:
    with browser(federation, "alice-token") as alice:
        page = alice.get("/portal/operators")
        assert page.status_code == 403
        assert "for the administrators of this service only" in page.text
        assert 'href="/portal/operators"' not in alice.get("/portal").text  # not in the nav
    with browser(federation) as anonymous:
        assert anonymous.get("/portal/operators").status_code == 403


def test_the_page_shows_queue_engine_catalogue_and_registry(federation: Federation) -> None:
    with browser(federation, "root-token") as root:
        page = root.get("/portal/operators")
        assert page.status_code == 200, page.text
        assert 'href="/portal/operators"' in root.get("/portal").text
    for heading in ("Queue", "Engine", "App catalogue", "Registry and harvests"):
        assert f">{heading}</h2>" in page.text
    assert 'href="/portal/jobs?all=1"' in page.text
    assert "<span class=\"phase phase-completed\">usable</span>" in page.text
    assert re.search(r"Resources searchable: \d+", page.text)


def test_the_buttons_need_the_csrf_token_and_an_administrator(federation: Federation) -> None:
    with browser(federation, "root-token") as root:
        refused = root.post("/portal/operators/refresh-catalogue", data={"csrf_token": "x"})
        assert refused.status_code == 403 and "csrf_token" in refused.text
        form = csrf_of(root.get("/portal/operators"))
        done = root.post("/portal/operators/refresh-catalogue", data=form)
        assert done.status_code == 303
        assert done.headers["location"] == "/portal/operators?done=catalogue"
        assert "The app repository was read again." in root.get(done.headers["location"]).text
        harvested = root.post("/portal/operators/harvest", data=form)
        assert harvested.status_code == 303
    with browser(federation, "alice-token") as alice:
        form = csrf_of(alice.get("/portal"))
        assert alice.post("/portal/operators/harvest", data=form).status_code == 403


def test_the_buttons_share_the_api_triggers_rate_limit(federation: Federation) -> None:
    with browser(federation, "root-token") as root:
        form = csrf_of(root.get("/portal/operators"))
        # A burst of 2 per kind, the portal's and the API's calls alike. The API spends what
        # is left of it (an earlier test of this module may have spent one, or, under
        # pytest-xdist, not in this process), until it is refused itself.
        api = root.post("/apps/refresh", headers={"Accept": "application/json"})
        assert api.status_code == 200, api.text
        for _ in range(3):
            if root.post("/apps/refresh",
                         headers={"Accept": "application/json"}).status_code == 429:
                break
        else:
            raise AssertionError("the API's refresh was never limited")
        limited = root.post("/portal/operators/refresh-catalogue", data=form)
        assert limited.status_code == 429 and "asked for too often" in limited.text
        assert "retry-after" in limited.headers
