"""The app catalogue's routes by caller: an app limited to groups is listed only to their
members and administrators, /apps/{name} is 404 to anyone else (as for no such app), the
catalogue stays readable without credentials (open apps only), and the refresh trigger is
for administrators once authentication is configured."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from innerspace.apps.routes import router
from innerspace.config import Settings
from innerspace.web import errors
from tests.support.uws_harness import DemoCatalogue, demo_manifest

TOKENS = {"alice-token": {"owner": "alice", "groups": ["astro"]},
          "bob-token": "bob",
          "root-token": {"owner": "root", "groups": ["innerspace-admins"]}}


def client(**settings: Any) -> TestClient:
    app = FastAPI()
    app.state.settings = Settings(**settings)
    app.state.services = SimpleNamespace(catalogue=DemoCatalogue(
        demo_manifest(), demo_manifest(name="secret", access={"groups": ["astro"]})))
    app.include_router(router)
    errors.install(app, errors.ErrorRenderers(default=errors.json_document))
    return TestClient(app)


def names(http: TestClient, token: str | None) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.get("/apps", headers=headers)
    assert response.status_code == 200, response.text
    return [app["name"] for app in response.json()["apps"]]


@pytest.fixture
def http() -> TestClient:
    return client(auth={"tokens": TOKENS, "admin_groups": ["innerspace-admins"]})


def test_limited_apps_are_listed_to_members_and_administrators(http: TestClient) -> None:
    assert names(http, "alice-token") == ["demo", "secret"]
    assert names(http, "root-token") == ["demo", "secret"]
    assert names(http, "bob-token") == ["demo"]
    assert names(http, None) == ["demo"], "readable without credentials: open apps only"
    assert http.get("/apps", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_a_limited_app_is_missing_for_outsiders(http: TestClient) -> None:
    alice = http.get("/apps/secret", headers={"Authorization": "Bearer alice-token"})
    assert alice.status_code == 200 and alice.json()["versions"][0]["name"] == "secret"
    for headers in ({"Authorization": "Bearer bob-token"}, {}):
        missing = http.get("/apps/secret", headers=headers)
        assert missing.status_code == 404
        assert missing.json() == {"error": "not-found",
                                  "message": "no app 'secret' in the catalogue"}


def test_the_service_setting_opens_or_closes_apps() -> None:
    http = client(auth={"tokens": TOKENS}, apps={"groups": {"secret": [], "demo": ["x"]}})
    assert names(http, "bob-token") == ["secret"]


def test_the_refresh_trigger_is_for_administrators(http: TestClient) -> None:
    refused = http.post("/apps/refresh", headers={"Authorization": "Bearer alice-token"})
    assert refused.status_code == 403
    assert refused.json()["message"] == ("app catalogue refresh is for members of the "
                                         "administrator groups (innerspace-admins) only")
    done = http.post("/apps/refresh", headers={"Authorization": "Bearer root-token"})
    assert done.status_code == 200 and done.json()["apps"] == 2
    assert http.post("/apps/refresh").status_code == 401, "anonymous is not allowed here"


def test_without_administrator_groups_nobody_triggers() -> None:
    http = client(auth={"tokens": TOKENS})
    refused = http.post("/apps/refresh", headers={"Authorization": "Bearer root-token"})
    assert refused.status_code == 403
    assert "names no administrator groups (auth.admin_groups)" in refused.json()["message"]


def test_an_anonymous_development_service_lets_anyone_trigger() -> None:
    http = client()  # no authentication configured at all: as before identity came
    assert http.post("/apps/refresh").status_code == 200
    assert names(http, None) == ["demo"], "a limited app stays limited"
