"""innerspace's own OAI-PMH harvester: against the live registry (matching the source and
Sickle), its options, its errors, and against other servers' answers (flow control,
namespaces declared on the envelope only, looping tokens, OAI errors)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest
from lxml import etree

from innerspace.registry.errors import HarvestError, OAIError
from innerspace.registry.harvest import Harvester, harvest
from innerspace.registry.records import MANAGED_SET, VG_NS
from tests import oai_live
from tests.conftest import free_port
from tests.oai_live import Live, canonical, second, selection, sickle_for, stamp, xsi_type
from tests.oai_samples import OAISchemas

schemas = oai_live.schemas
live = oai_live.live


# -- innerspace's own harvester -------------------------------------------------------------------

def test_own_harvester_matches_the_source_and_sickle(live: Live, schemas: OAISchemas) -> None:
    harvested = harvest(live.endpoint)
    assert len(harvested) == len(live.managed)
    source = {r.ivoid: r for r in live.managed}
    for record in harvested:
        original = source[record.ivoid]
        assert record.deleted == original.deleted
        assert record.updated == second(original)
        assert record.sets == ()
        if record.deleted:
            assert record.xml == b""
            continue
        root = schemas.validate(record.xml)  # stands alone: every namespace declared
        assert canonical(root) == canonical(etree.fromstring(original.xml))
        assert xsi_type(root) == xsi_type(etree.fromstring(original.xml))
        assert b"http://www.openarchives.org/OAI/2.0/" not in record.xml
    by_sickle = {(r.header.identifier, r.deleted) for r in
                 sickle_for(live).ListRecords(metadataPrefix="ivo_vor", set=MANAGED_SET)}
    assert {(r.ivoid, r.deleted) for r in harvested} == by_sickle


def test_own_harvester_options(live: Live) -> None:
    everything = harvest(live.endpoint, set_spec=None)
    assert {r.ivoid for r in everything} == {r.ivoid for r in live.records}
    since = second(live.records[200])
    recent = harvest(live.endpoint, since=since)
    assert {r.ivoid for r in recent} == selection(live.records, set_spec=MANAGED_SET,
                                                  lower=since)
    assert harvest(live.endpoint, since=datetime(2100, 1, 1, tzinfo=UTC)) == []
    live.registry.page_size = 10  # type: ignore[attr-defined]
    try:
        with httpx.Client(timeout=60) as client:
            harvester = Harvester(live.endpoint, client)
            assert len(harvester.run(None, MANAGED_SET)) == len(live.managed)
            assert harvester.pages == math.ceil(len(live.managed) / 10)
    finally:
        del live.registry.page_size  # type: ignore[attr-defined]


def test_own_harvester_errors(live: Live) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/registry/oai"
    with pytest.raises(HarvestError, match="cannot reach"):
        harvest(nobody, timeout=5)
    with pytest.raises(OAIError) as raised:
        harvest(live.endpoint, set_spec="not a set")
    assert raised.value.oai_code == "badArgument"
    with pytest.raises(HarvestError, match="HTTP 404"):
        harvest(f"{live.url}/nothing-here")
    with pytest.raises(HarvestError, match="not answer with"):
        harvest(f"{live.url}/openapi.json")


def fake_endpoint(pages: list[tuple[int, bytes]]) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = pages[min(len(seen), len(pages)) - 1]
        headers = {"retry-after": "0"} if status == 503 else {}
        return httpx.Response(status, content=body, headers=headers)

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


def envelope(body: str) -> bytes:
    return ('<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>'
            '2026-01-01T00:00:00Z</responseDate><request>http://x/oai</request>'
            f"{body}</OAI-PMH>").encode()


def test_own_harvester_against_other_servers() -> None:
    resource = ('<ri:Resource xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
                'xsi:type="vg:Authority"><title>t</title></ri:Resource>')
    page_one = envelope(
        '<ListRecords xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:vg="http://www.ivoa.net/xml/VORegistry/v1.0">'
        "<record><header><identifier>ivo://Other.Example</identifier>"
        f"<datestamp>2025-02-03</datestamp></header><metadata>{resource}</metadata></record>"
        "<record><header><identifier>ivo://other.example/dc</identifier>"
        "<datestamp>2025-02-03T04:05:06Z</datestamp></header><metadata>"
        '<dc xmlns="http://purl.org/dc/elements/1.1/"/></metadata></record>'
        "<resumptionToken>t1</resumptionToken></ListRecords>")
    page_two = envelope(
        '<ListRecords><record><header status="deleted"><identifier>ivo://other.example/gone'
        "</identifier><datestamp>2025-03-01T00:00:00Z</datestamp></header></record>"
        "<resumptionToken/></ListRecords>")
    client, seen = fake_endpoint([(503, b"busy"), (200, page_one), (200, page_two)])
    records = Harvester("http://x/oai", client).run(None, MANAGED_SET)
    assert [(r.ivoid, r.deleted) for r in records] == [("ivo://other.example", False),
                                                       ("ivo://other.example/gone", True)]
    assert records[0].updated == datetime(2025, 2, 3, tzinfo=UTC)
    # xsi and vg were declared on the envelope only; the record declares them itself.
    assert etree.fromstring(records[0].xml).nsmap["vg"] == VG_NS
    assert seen[-1].url.params["resumptionToken"] == "t1"
    assert "set" not in seen[-1].url.params and seen[0].url.params["set"] == MANAGED_SET

    looping = envelope("<ListRecords><record><header><identifier>ivo://a/b</identifier>"
                       "<datestamp>2025-01-01</datestamp></header></record>"
                       "<resumptionToken>same</resumptionToken></ListRecords>")
    client, _ = fake_endpoint([(200, looping)])
    with pytest.raises(HarvestError, match="repeats the resumptionToken"):
        Harvester("http://x/oai", client).run(None, None)
    client, _ = fake_endpoint([(200, b"<html><body>not OAI</body></html>")])
    with pytest.raises(HarvestError, match="not answer with an OAI-PMH document"):
        Harvester("http://x/oai", client).run(None, None)
    client, _ = fake_endpoint([(200, envelope('<error code="badArgument">no</error>'
                                              '<error code="badVerb">no</error>'))])
    with pytest.raises(OAIError) as raised:
        Harvester("http://x/oai", client).run(None, None)
    assert [code for code, _ in raised.value.errors] == ["badArgument", "badVerb"]
    client, _ = fake_endpoint([(503, b"busy")] * 5)
    with pytest.raises(HarvestError, match="HTTP 503"):
        Harvester("http://x/oai", client, retries=2).run(None, None)


def test_own_harvester_sends_from() -> None:
    client, seen = fake_endpoint([(200, envelope('<error code="noRecordsMatch"/>'))])
    moment = datetime(2025, 6, 7, 10, 11, 12, 999, tzinfo=UTC)
    assert Harvester("http://x/oai", client).run(moment, MANAGED_SET) == []
    assert seen[0].url.params["from"] == "2025-06-07T10:11:12Z"
    assert seen[0].url.params["metadataPrefix"] == "ivo_vor"
    assert seen[0].url.params["verb"] == "ListRecords"
    assert urlencode({"from": stamp(moment)}) in str(seen[0].url)
