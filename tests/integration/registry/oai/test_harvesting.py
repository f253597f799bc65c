"""Harvesting the OAI-PMH registry with a real client (Sickle): every record through every
resumption token, the managed set, deleted headers, tokens that carry the arguments, and
from/until selections. Every response is validated against OAI-PMH.xsd and the IVOA
schemas (with an oai_dc stand-in, see tests/support/oai_samples.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest
from lxml import etree
from sickle.iterator import OAIResponseIterator

from innerspace.registry.records import MANAGED_SET, RI_NS, VG_NS, VR_NS, VS_NS, Record
from tests.support.oai_live import (
    OAI,
    Live,
    canonical,
    oai_get,
    second,
    selection,
    sickle_for,
    stamp,
    xsi_type,
)
from tests.support.oai_samples import APPS_SET, REGISTRY_IVOID, TIE, OAISchemas

# -- the sample data ---------------------------------------------------------------------------

def test_sample_records_are_realistic_and_schema_valid(live: Live, schemas: OAISchemas) -> None:
    records = live.records
    assert len(records) == 262
    assert len({r.ivoid for r in records}) == len(records)
    kinds: dict[tuple[str | None, str], int] = {}
    for record in records:
        root = schemas.validate(record.xml)
        assert root.tag == f"{{{RI_NS}}}Resource"
        assert root.findtext("identifier").lower() == record.ivoid == record.ivoid.lower()
        kinds[xsi_type(root)] = kinds.get(xsi_type(root), 0) + 1
    assert kinds == {(VS_NS, "CatalogService"): 159, (VS_NS, "DataCollection"): 60,
                     (VR_NS, "Service"): 40, (VR_NS, "Organisation"): 1,
                     (VG_NS, "Registry"): 1, (VG_NS, "Authority"): 1}
    assert sum(r.deleted for r in records) == 22
    assert len(records) - len(live.managed) == 20  # harvested from elsewhere: not managed
    assert sum(APPS_SET in r.sets for r in records) == 40
    # Several records share one datestamp second, right where the first page ends.
    assert len({second(r) for r in records[TIE]}) == 1
    assert len(live.managed) == 242  # the managed set alone needs three pages of 100


# -- harvesting with Sickle --------------------------------------------------------------------

def test_sickle_harvests_every_record_through_every_token(live: Live,
                                                           schemas: OAISchemas) -> None:
    responses = list(sickle_for(live, iterator=OAIResponseIterator)
                     .ListRecords(metadataPrefix="ivo_vor"))
    assert len(responses) == math.ceil(len(live.records) / 100) == 3
    tokens = []
    for response in responses:
        root = schemas.validate(response.http_response.content)
        tokens.append(root.find(f"{OAI}ListRecords/{OAI}resumptionToken"))
    assert [int(t.get("cursor")) for t in tokens] == [0, 100, 200]
    assert {int(t.get("completeListSize")) for t in tokens} == {len(live.records)}
    assert all(t.text for t in tokens[:-1]) and not tokens[-1].text  # the last one is empty
    assert all(t.get("expirationDate") for t in tokens[:-1])

    by_id = {r.ivoid: r for r in live.records}
    harvested = list(sickle_for(live).ListRecords(metadataPrefix="ivo_vor"))
    assert [h.header.identifier for h in harvested] == [r.ivoid for r in sorted(
        live.records, key=lambda r: (second(r), r.ivoid))]
    for item in harvested:
        record = by_id[item.header.identifier]
        assert item.deleted == record.deleted
        assert item.header.datestamp == stamp(record.updated)
        assert item.header.setSpecs == list(record.sets)
        metadata = item.xml.find(f"{OAI}metadata")
        if record.deleted:
            assert metadata is None
            continue
        (resource,) = metadata
        original = etree.fromstring(record.xml)
        assert canonical(resource) == canonical(original)
        assert xsi_type(resource) == xsi_type(original)
        assert item.metadata["identifier"] == [record.ivoid]


def test_sickle_harvests_the_managed_set(live: Live, schemas: OAISchemas) -> None:
    pages = list(sickle_for(live, iterator=OAIResponseIterator)
                 .ListRecords(metadataPrefix="ivo_vor", set=MANAGED_SET))
    asked = [schemas.validate(page.http_response.content).find(f"{OAI}request").get("set")
             for page in pages]
    # The first request names the set; the others carry only a resumption token.
    assert asked == [MANAGED_SET] + [None] * (len(pages) - 1)
    assert len(pages) == math.ceil(len(live.managed) / 100)
    items = list(sickle_for(live).ListRecords(metadataPrefix="ivo_vor", set=MANAGED_SET))
    assert [i.header.identifier for i in items].count(REGISTRY_IVOID) == 1
    assert {i.header.identifier for i in items} == {r.ivoid for r in live.managed}
    assert len(items) == len(live.managed)
    assert {i.header.identifier for i in items if i.deleted} == {
        r.ivoid for r in live.managed if r.deleted}


def test_list_identifiers_marks_deleted_headers(live: Live, schemas: OAISchemas,
                                                http: httpx.Client) -> None:
    headers = list(sickle_for(live).ListIdentifiers(metadataPrefix="oai_dc"))
    assert len(headers) == len(live.records)
    assert {h.identifier for h in headers if h.deleted} == {
        r.ivoid for r in live.records if r.deleted}
    live_only = list(sickle_for(live).ListIdentifiers(metadataPrefix="oai_dc",
                                                      ignore_deleted=True))
    assert {h.identifier for h in live_only} == {r.ivoid for r in live.records if not r.deleted}
    apps = {h.identifier for h in headers if APPS_SET in h.setSpecs}
    assert apps == {r.ivoid for r in live.records if APPS_SET in r.sets}
    root = oai_get(http, live, schemas,
                   {"verb": "ListIdentifiers", "metadataPrefix": "ivo_vor"})
    deleted = [h for h in root.iter(f"{OAI}header") if h.get("status") == "deleted"]
    assert deleted and all(h.get("status") == "deleted" for h in deleted)


def test_token_carries_the_arguments(live: Live, schemas: OAISchemas,
                                     http: httpx.Client) -> None:
    live.registry.page_size = 25  # type: ignore[attr-defined]
    try:
        lower = second(live.records[40])
        expected = selection(live.records, set_spec=MANAGED_SET, lower=lower)
        pages = list(sickle_for(live, iterator=OAIResponseIterator).ListIdentifiers(
            metadataPrefix="oai_dc", set=MANAGED_SET, **{"from": stamp(lower)}))
        assert len(pages) == math.ceil(len(expected) / 25) == 9
        found = []
        for page in pages:
            root = schemas.validate(page.http_response.content)
            found += [h.findtext(f"{OAI}identifier") for h in root.iter(f"{OAI}header")]
            token = root.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
            assert int(token.get("completeListSize")) == len(expected)
        assert len(found) == len(set(found)) and set(found) == expected
    finally:
        del live.registry.page_size  # type: ignore[attr-defined]


# -- from / until ------------------------------------------------------------------------------

def _bounds(records: list[Record]) -> list[tuple[str, dict[str, str], datetime | None,
                                                 datetime | None]]:
    at = {k: second(records[k]) for k in (10, 57, 150, TIE.start)}
    day = datetime(2023, 1, 25, tzinfo=UTC)
    return [
        ("from an exact datestamp", {"from": stamp(at[57])}, at[57], None),
        ("until an exact datestamp", {"until": stamp(at[57])}, None, at[57]),
        ("one second", {"from": stamp(at[TIE.start]), "until": stamp(at[TIE.start])},
         at[TIE.start], at[TIE.start]),
        ("a span", {"from": stamp(at[10]), "until": stamp(at[150])}, at[10], at[150]),
        ("days", {"from": "2023-01-25", "until": "2023-02-03"}, day,
         datetime(2023, 2, 3, 23, 59, 59, tzinfo=UTC)),
        ("from a day", {"from": "2023-01-25"}, day, None),
        ("until a day", {"until": "2023-01-25"}, None,
         datetime(2023, 1, 25, 23, 59, 59, tzinfo=UTC)),
        ("from before everything", {"from": "1999-01-01T00:00:00Z"}, None, None),
    ]


@pytest.mark.parametrize("case", range(8))
def test_from_until(live: Live, schemas: OAISchemas, case: int) -> None:
    name, params, lower, upper = _bounds(live.records)[case]
    expected = selection(live.records, lower=lower, upper=upper)
    assert expected, name
    assert (len(expected) == len(live.records)) == (name == "from before everything"), name
    if name == "one second":
        assert expected == {r.ivoid for r in live.records[TIE]}
    pages = list(sickle_for(live, iterator=OAIResponseIterator)
                 .ListIdentifiers(metadataPrefix="ivo_vor", **params))
    found = []
    for page in pages:
        root = schemas.validate(page.http_response.content)
        assert {k: v for k, v in root.find(f"{OAI}request").attrib.items()
                if k in ("from", "until")} in (params, {})
        found += [h.findtext(f"{OAI}identifier") for h in root.iter(f"{OAI}header")]
    assert sorted(found) == sorted(expected), name
    records = list(sickle_for(live).ListRecords(metadataPrefix="oai_dc", **params))
    assert {r.header.identifier for r in records} == expected


