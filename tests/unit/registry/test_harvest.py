"""innerspace's own OAI-PMH harvester against other servers' answers, played by a fake
endpoint (httpx.MockTransport): flow control (503 and Retry-After), namespaces declared on
the envelope only, resumption tokens that loop, OAI errors, the arguments it sends, and what
a peer may supply (its own records' identifiers, the authorities it manages).
(A hostile peer over real HTTP: tests/integration/registry/oai/test_hostile_peer.py.)"""

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

NS = ('xmlns="" xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
      'xmlns:vg="http://www.ivoa.net/xml/VORegistry/v1.0" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def envelope(body: str) -> bytes:
    return ('<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>'
            '2026-01-01T00:00:00Z</responseDate><request>http://x/oai</request>'
            f"{body}</OAI-PMH>").encode()


def identify(*authorities: str) -> bytes:
    managed = "".join(f"<managedAuthority>{a}</managedAuthority>" for a in authorities)
    return envelope(f'<Identify><repositoryName>x</repositoryName><description>'
                    f'<ri:Resource {NS} xsi:type="vg:Registry">'
                    f"<identifier>ivo://other.example/registry</identifier>{managed}"
                    "</ri:Resource></description></Identify>")


def fake_endpoint(pages: list[tuple[int, bytes]], identity: bytes | None = None
                  ) -> tuple[httpx.Client, list[httpx.Request]]:
    """Identify answers `identity` (a registry managing other.example by default); the
    other requests get `pages` in turn (the last one again and again)."""
    seen: list[httpx.Request] = []
    answers = identify("other.example") if identity is None else identity

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("verb") == "Identify":
            return httpx.Response(200, content=answers)
        seen.append(request)
        status, body = pages[min(len(seen), len(pages)) - 1]
        headers = {"retry-after": "0"} if status == 503 else {}
        return httpx.Response(status, content=body, headers=headers)

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


def record(header_id: str, own_id: str | None, datestamp: str = "2025-02-03",
           xsi: str = "vg:Authority") -> str:
    identifier = f"<identifier>{own_id}</identifier>" if own_id is not None else ""
    return (f"<record><header><identifier>{header_id}</identifier><datestamp>{datestamp}"
            f'</datestamp></header><metadata><ri:Resource {NS} xsi:type="{xsi}">'
            f"<title>t</title>{identifier}</ri:Resource></metadata></record>")


def test_own_harvester_against_other_servers() -> None:
    resource = ('<ri:Resource xmlns="" xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
                'xsi:type="vg:Authority"><title>t</title>'
                "<identifier>ivo://other.example</identifier></ri:Resource>")
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
    harvested = Harvester("http://x/oai", client).run(None, MANAGED_SET)
    records = harvested.records
    assert [(r.ivoid, r.deleted) for r in records] == [("ivo://other.example", False),
                                                       ("ivo://other.example/gone", True)]
    assert harvested.skipped == [("ivo://other.example/dc", "it has no ri:Resource metadata")]
    assert harvested.authorities == {"ivo://other.example"}
    assert records[0].updated == datetime(2025, 2, 3, tzinfo=UTC)
    # xsi and vg were declared on the envelope only; the record declares them itself.
    assert etree.fromstring(records[0].xml).nsmap["vg"] == VG_NS
    assert seen[-1].url.params["resumptionToken"] == "t1"
    assert "set" not in seen[-1].url.params and seen[0].url.params["set"] == MANAGED_SET

    looping = envelope("<ListRecords><record><header><identifier>ivo://a/b</identifier>"
                       "<datestamp>2025-01-01</datestamp></header></record>"
                       "<resumptionToken>same</resumptionToken></ListRecords>")
    client, _ = fake_endpoint([(200, looping)])
    with pytest.raises(HarvestError, match="repeats a resumptionToken"):
        Harvester("http://x/oai", client).run(None, None)
    client, _ = fake_endpoint([(200, b"<html><body>not OAI</body></html>")])
    with pytest.raises(HarvestError, match=r"not answer with an OAI-PMH document$"):
        Harvester("http://x/oai", client).run(None, None)
    client, _ = fake_endpoint([(200, envelope('<error code="badArgument">no</error>'
                                              '<error code="&lt;b&gt;">no</error>'))])
    with pytest.raises(OAIError) as raised:
        Harvester("http://x/oai", client).run(None, None)
    assert [code for code, _ in raised.value.errors] == ["badArgument", "unknown"]
    assert str(raised.value) == "http://x/oai answered with OAI-PMH errors: badArgument, unknown"
    client, _ = fake_endpoint([(503, b"busy")] * 5)
    with pytest.raises(HarvestError, match=r"HTTP 503$"):
        Harvester("http://x/oai", client, retries=2).run(None, None)


def test_a_peer_supplies_only_its_own_records_of_its_authorities() -> None:
    page = envelope("<ListRecords>" + "".join([
        record("ivo://other.example/a", "ivo://Other.Example/A"),  # case differs only
        record("ivo://other.example/spoof", "ivo://ours.example/innerspace/uws"),
        record("ivo://ours.example/innerspace/uws", "ivo://ours.example/innerspace/uws"),
        record("ivo://third.example/x", "ivo://third.example/x"),
        record("ivo://other.example/none", None),
        record("ivo://other.example/late", "ivo://other.example/late", "yesterday"),
        '<record><header status="deleted"><identifier>ivo://third.example/gone</identifier>'
        "<datestamp>2025-03-01</datestamp></header></record>",
    ]) + "</ListRecords>")
    client, _ = fake_endpoint([(200, page)])
    harvested = Harvester("http://x/oai", client, own_authority="ivo://ours.example"
                          ).run(None, None)
    assert [r.ivoid for r in harvested.records] == ["ivo://other.example/a"]
    assert dict(harvested.skipped) == {
        "ivo://other.example/spoof": "its OAI header names another identifier than the "
                                     "record itself",
        "ivo://ours.example/innerspace/uws": "it is under this registry's own authority",
        "ivo://third.example/x": "its authority is not one the harvested registry manages",
        "ivo://other.example/none": "it has no identifier",
        "ivo://other.example/late": "its datestamp is not an OAI-PMH datestamp",
        "ivo://third.example/gone": "its authority is not one the harvested registry manages",
    }


def test_managed_authorities_come_from_identify_or_the_registry_record() -> None:
    page = envelope("<ListRecords>" + record("ivo://other.example/a", "ivo://other.example/a")
                    + "</ListRecords>")
    # Identify without a registry record: the vg:Registry record serving this endpoint.
    registry = record("ivo://other.example/registry", "ivo://other.example/registry",
                      xsi="vg:Registry").replace(
        "<title>t</title>", "<title>t</title><capability><interface><accessURL>"
        "http://x/oai/</accessURL></interface></capability>"
        "<managedAuthority>ivo://Other.Example/</managedAuthority>")
    bare = envelope("<Identify><repositoryName>x</repositoryName></Identify>")
    client, _ = fake_endpoint([(200, page.replace(b"</ListRecords>",
                                                  registry.encode() + b"</ListRecords>"))],
                              identity=bare)
    harvested = Harvester("http://x/oai", client).run(None, None)
    assert harvested.authorities == {"ivo://other.example"}
    assert {r.ivoid for r in harvested.records} == {"ivo://other.example/a",
                                                    "ivo://other.example/registry"}
    client, _ = fake_endpoint([(200, page)], identity=bare)
    with pytest.raises(HarvestError, match="names no authority it manages"):
        Harvester("http://x/oai", client).run(None, None)
    client, _ = fake_endpoint([(200, envelope('<error code="noRecordsMatch"/>'))],
                              identity=bare)
    assert Harvester("http://x/oai", client).run(None, None).records == []


def test_own_harvester_sends_from() -> None:
    client, seen = fake_endpoint([(200, envelope('<error code="noRecordsMatch"/>'))])
    moment = datetime(2025, 6, 7, 10, 11, 12, 999, tzinfo=UTC)
    assert Harvester("http://x/oai", client).run(moment, MANAGED_SET).records == []
    assert seen[0].url.params["from"] == "2025-06-07T10:11:12Z"
    assert seen[0].url.params["metadataPrefix"] == "ivo_vor"
    assert seen[0].url.params["verb"] == "ListRecords"
    assert urlencode({"from": stamp(moment)}) in str(seen[0].url)
