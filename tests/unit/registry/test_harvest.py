"""innerspace's own OAI-PMH harvester against other servers' answers, played by a fake
endpoint (httpx.MockTransport): flow control (503 and Retry-After), namespaces declared on
the envelope only, resumption tokens that loop, OAI errors, and the arguments it sends."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest
from lxml import etree

from innerspace.registry.errors import HarvestError, OAIError
from innerspace.registry.harvest import Harvester
from innerspace.registry.records import MANAGED_SET, VG_NS
from tests.support.oai_live import stamp


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
