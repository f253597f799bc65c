"""Incremental harvests into the RegTAP index, from a well-behaved OAI-PMH peer: the first
harvest is full; the next asks only for what changed since (`from=`) and brings changes and
deletions; a reopened index keeps its records and the watermark; a peer whose history was
reset is harvested in full again, and what it no longer has goes; a peer no longer
configured takes its records with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from innerspace.config import Settings
from innerspace.registry.incremental import PeerHarvest, forget_peers
from innerspace.registry.regtap import RegTAPIndex
from tests.support.datacentres import datacentre
from tests.support.oai_peer import OAIPeer, PeerRecord
from tests.support.regtap_live import rows

AUTHORITY = "ivo://peer.example"
OLD = "2026-01-01T00:00:00Z"
NS = ('xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
      'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" '
      'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def resource(number: int, title: str = "A service") -> str:
    return (f'<ri:Resource {NS} xsi:type="vr:Service" created="2025-01-01T00:00:00Z" '
            f'updated="2025-01-01T00:00:00Z" status="active"><title>{title} {number}</title>'
            f"<identifier>{AUTHORITY}/svc/{number}</identifier><curation><publisher>Peer"
            "</publisher><contact><name>x</name></contact></curation><content><subject>"
            f"tests</subject><description>Number {number}.</description><referenceURL>"
            "https://peer.example/</referenceURL></content><capability standardID="
            '"ivo://ivoa.net/std/UWS#rest-1.1"><interface xsi:type="vs:ParamHTTP" role="std">'
            f'<accessURL use="base">https://peer.example/{number}</accessURL></interface>'
            "</capability></ri:Resource>")


def ivoid(number: int) -> str:
    return f"{AUTHORITY}/svc/{number}"


@pytest.fixture
def peer() -> Iterator[OAIPeer]:
    records = {ivoid(n): PeerRecord(OLD, resource(n)) for n in range(30)}
    with OAIPeer(records, [AUTHORITY], page_size=7) as serving:
        yield serving


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, datacentre=datacentre("ivo://home.example", "Home", "h"))


def titles(index: RegTAPIndex) -> dict[str, str]:
    return dict(rows(index, "SELECT ivoid, res_title FROM rr.resource"))


def harvest(peer: OAIPeer, index: RegTAPIndex, settings: Settings) -> dict[str, int | str]:
    return PeerHarvest(peer.url, index, settings, set()).run()


def test_incremental_harvests_bring_changes_and_deletions(peer: OAIPeer, settings: Settings,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "regtap.sqlite"
    index = RegTAPIndex(path, settings.registry)
    assert harvest(peer, index, settings) == {"records": 30, "skipped": 0, "removed": 0,
                                              "full": 1}
    assert len(titles(index)) == 30 and index.writer.origins() == {peer.url: 30}
    assert not any("from" in q for q in peer.requests)
    peer.set(ivoid(5), resource(5, "Renamed"))
    peer.set(ivoid(7), None)
    peer.set(ivoid(30), resource(30))
    peer.requests.clear()
    outcome = harvest(peer, index, settings)
    assert outcome["full"] == 0 and outcome["removed"] == 0
    assert outcome["records"] == 3, "only what changed since the last harvest"
    assert next(q for q in peer.requests if q.get("verb") == "ListRecords")["from"] >= OLD
    found = titles(index)
    assert found[ivoid(5)] == "Renamed 5" and ivoid(7) not in found and ivoid(30) in found
    assert len(found) == 30
    assert rows(index, f"SELECT COUNT(*) FROM rr.capability WHERE ivoid = '{ivoid(7)}'"
                ) == [(0,)]

    # A restart: the index and the watermark are still there; the next harvest is
    # incremental and changes nothing (what changed in the watermark's second may come
    # again: `from` is inclusive).
    reopened = RegTAPIndex(path, settings.registry)
    assert not reopened.rebuilt and titles(reopened) == found
    outcome = harvest(peer, reopened, settings)
    assert outcome["full"] == 0 and int(outcome["records"]) <= 3
    assert titles(reopened) == found


def test_a_reset_peer_is_harvested_in_full(peer: OAIPeer, settings: Settings) -> None:
    index = RegTAPIndex(limits=settings.registry)
    harvest(peer, index, settings)
    del peer.records[ivoid(3)]  # gone without a trace
    peer.earliest = "2026-06-01T00:00:00Z"
    outcome = harvest(peer, index, settings)
    assert outcome["full"] == 1 and outcome["removed"] == 1 and outcome["records"] == 29
    assert ivoid(3) not in titles(index) and len(titles(index)) == 29


def test_an_endpoint_no_longer_configured_takes_its_records(peer: OAIPeer,
                                                             settings: Settings) -> None:
    index = RegTAPIndex(limits=settings.registry)
    harvest(peer, index, settings)
    assert forget_peers(index, [peer.url]) == {}
    assert forget_peers(index, []) == {peer.url: 30}
    assert index.count() == 0 and index.writer.harvest_state(peer.url) is None
    assert harvest(peer, index, settings)["full"] == 1


def test_an_authority_claimed_by_an_earlier_endpoint_is_not_taken(peer: OAIPeer,
                                                                  settings: Settings) -> None:
    index = RegTAPIndex(limits=settings.registry)
    harvest(peer, index, settings)
    later = PeerHarvest(peer.url, index, settings, {AUTHORITY})
    assert later.run()["removed"] == 30 and index.count() == 0
