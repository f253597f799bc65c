"""`respond` on its own: configurable page size, expiring tokens, lists that survive
changes between pages, duplicate and broken records, Identify without the own record."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from innerspace.registry.oai import RecordError, respond
from innerspace.registry.records import Record
from tests.support.oai_live import OAI, REPOSITORY, Live, error_codes, pages, second, stamp
from tests.support.oai_samples import AUTHORITY, EARLIEST, REGISTRY_IVOID, OAISchemas, registry_xml
from tests.support.xmlcheck import child


def test_page_size_is_configurable(live: Live, schemas: OAISchemas) -> None:
    repository = replace(REPOSITORY, page_size=7)
    roots = pages({"verb": ["ListIdentifiers"], "metadataPrefix": ["ivo_vor"]}, live.records,
                  repository)
    assert len(roots) == math.ceil(len(live.records) / 7)
    tokens = [r.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken") for r in roots]
    assert [int(t.get("cursor")) for t in tokens] == list(range(0, len(live.records), 7))
    headers = [h.findtext(f"{OAI}identifier") for r in roots for h in r.iter(f"{OAI}header")]
    assert headers == [r.ivoid for r in sorted(live.records, key=lambda r: (second(r), r.ivoid))]
    for root in roots[:3] + roots[-2:]:
        schemas.validate(etree.tostring(root))


def test_tokens_expire(live: Live) -> None:
    repository = replace(REPOSITORY, token_lifetime=timedelta(hours=2))
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    first = etree.fromstring(respond({"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"]},
                                     live.records, repository, now))
    element = child(first, f"{OAI}ListRecords/{OAI}resumptionToken")
    assert element.get("expirationDate") == "2026-05-01T14:00:00Z"
    follow = {"verb": ["ListRecords"], "resumptionToken": [element.text]}
    later = etree.fromstring(respond(follow, live.records, repository,
                                     now + timedelta(hours=1)))
    assert error_codes(later) == [] and len(later.findall(f"{OAI}ListRecords/{OAI}record")) == 100
    expired = etree.fromstring(respond(follow, live.records, repository,
                                       now + timedelta(hours=2, seconds=1)))
    assert error_codes(expired) == ["badResumptionToken"]
    assert "expired" in str(expired.findtext(f"{OAI}error"))


def test_lists_survive_changes_between_pages(live: Live) -> None:
    records = list(live.records)
    first = etree.fromstring(respond({"verb": ["ListIdentifiers"],
                                      "metadataPrefix": ["ivo_vor"]}, records, REPOSITORY))
    token = first.findtext(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
    assert token, "the first page ends with a token"
    sent = [h.findtext(f"{OAI}identifier") for h in first.iter(f"{OAI}header")]
    # Between the pages, a record of page one changes, one is deleted, one is added.
    late = datetime.now(UTC)
    changed = records[5]
    records[5] = replace(changed, updated=late)
    records[6] = replace(records[6], updated=late, deleted=True)
    new = Record(f"{AUTHORITY}/scs/new", records[7].xml, late)
    records.append(new)
    rest = pages({"verb": ["ListIdentifiers"], "resumptionToken": [token]}, records, REPOSITORY)
    later = [h.findtext(f"{OAI}identifier") for r in rest for h in r.iter(f"{OAI}header")]
    assert set(sent) | set(later) == {r.ivoid for r in records}  # nothing skipped
    assert later[-3:] == sorted([changed.ivoid, records[6].ivoid, new.ivoid])


def test_duplicates_and_broken_records() -> None:
    old = Record(REGISTRY_IVOID, registry_xml(REPOSITORY.base_url, EARLIEST), EARLIEST)
    newer = replace(old, updated=EARLIEST + timedelta(days=1))
    root = etree.fromstring(respond({"verb": ["ListIdentifiers"], "metadataPrefix": ["ivo_vor"]},
                                    [old, newer], REPOSITORY))
    assert [h.findtext(f"{OAI}datestamp") for h in root.iter(f"{OAI}header")] == [
        stamp(newer.updated)]
    broken = Record(f"{AUTHORITY}/broken", b"<ri:Resource", EARLIEST)
    with pytest.raises(RecordError):
        respond({"verb": ["GetRecord"], "metadataPrefix": ["oai_dc"],
                 "identifier": [broken.ivoid]}, [old, broken], REPOSITORY)
    # Headers alone do not need the XML.
    root = etree.fromstring(respond({"verb": ["ListIdentifiers"], "metadataPrefix": ["ivo_vor"]},
                                    [broken], REPOSITORY))
    assert [h.findtext(f"{OAI}identifier") for h in root.iter(f"{OAI}header")] == [broken.ivoid]


def test_identify_without_own_record_stays_valid(schemas: OAISchemas) -> None:
    document = respond({"verb": ["Identify"]}, [], REPOSITORY)
    root = schemas.validate(document)
    assert root.find(f"{OAI}Identify/{OAI}description") is None
    assert root.findtext(f"{OAI}Identify/{OAI}earliestDatestamp") == stamp(EARLIEST)


