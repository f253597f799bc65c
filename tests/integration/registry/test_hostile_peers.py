"""A running service harvesting a hostile registry (tests/support/hostile_peer.py): the
peer's record wearing a foreign OAI header around our own identifier -- which replaced our
UWS access URL in RegTAP before -- and its record of an authority it does not manage are
left out; and the operator triggers (harvest, registry refresh, app catalogue refresh)
answer 429 with Retry-After past their rate, without starting any work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.datacentres import datacentre
from tests.support.hostile_peer import HostilePeer, service_record
from tests.support.services import LiveService

OURS = "ivo://victim.example"
UWS = f"{OURS}/innerspace/uws"


@pytest.fixture
def peer() -> Iterator[HostilePeer]:
    records = (service_record("ivo://evil.example/decoy", UWS, "https://evil.example/steal"),
               service_record("ivo://third.example/tap", "ivo://third.example/tap",
                              "https://evil.example/third"),
               service_record("ivo://evil.example/tap", "ivo://evil.example/tap",
                              "https://evil.example/tap"))
    with HostilePeer(records=records) as hostile:
        yield hostile


@pytest.fixture
def victim(tmp_path: Path, peer: HostilePeer, docker_client: Any) -> Iterator[LiveService]:
    service = LiveService(tmp_path, datacentre=datacentre(OURS, "Victim", "victim-sky"),
                          harvest=[peer.endpoint("/oai")],
                          registry={"trigger_interval": 600, "trigger_burst": 1})
    service.start()
    yield service
    service.stop()


def access_urls(http: httpx.Client, ivoid: str) -> list[str]:
    response = http.get("/registry/tap/sync", params={
        "QUERY": f"SELECT access_url FROM rr.interface WHERE ivoid = '{ivoid}'",
        "RESPONSEFORMAT": "csv"})
    assert response.status_code == 200, response.text
    return sorted(response.text.splitlines()[1:])


def test_a_hostile_peer_cannot_replace_our_records(victim: LiveService,
                                                   peer: HostilePeer) -> None:
    with victim.client() as http:
        outcome = http.post("/registry/harvest")
        assert outcome.status_code == 200, outcome.text
        # The service harvested at start-up: this one is incremental (`full` 0), as the
        # peer's Identify answer has not changed.
        assert outcome.json() == {peer.endpoint("/oai"): {"records": 1, "skipped": 2,
                                                          "removed": 0, "full": 0}}
        assert access_urls(http, UWS) == sorted(
            f"{victim.url}/{path}" for path in ("jobs", "capabilities", "availability"))
        assert access_urls(http, "ivo://evil.example/tap") == ["https://evil.example/tap"]
        assert access_urls(http, "ivo://third.example/tap") == []
        assert access_urls(http, "ivo://evil.example/decoy") == []


def test_operator_triggers_are_rate_limited(victim: LiveService, peer: HostilePeer) -> None:
    with victim.client() as http:
        for path in ("/registry/harvest", "/registry/refresh", "/apps/refresh"):
            first = http.post(path)
            assert first.status_code == 200, (path, first.text)
            harvests = peer.harvests()
            again = http.post(path)
            assert again.status_code == 429, (path, again.text)
            assert 1 <= int(again.headers["retry-after"]) <= 600
            assert again.json()["error"] == "too-many-requests"
            assert "try again in" in again.json()["message"]
            assert peer.harvests() == harvests, f"{path} started work after its 429"
