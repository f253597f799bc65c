"""innerspace's own OAI-PMH harvester against the live sample registry: it harvests what
the source holds and what Sickle harvests, its options work, and its errors say what went
wrong. (Against other servers' odd answers: tests/unit/registry/test_harvest.py.)"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest
from lxml import etree

from innerspace.config import RegistryLimits
from innerspace.registry.errors import HarvestError, OAIError
from innerspace.registry.harvest import Harvester, harvest
from innerspace.registry.records import MANAGED_SET
from tests.support.net import free_port
from tests.support.oai_live import Live, canonical, second, selection, sickle_for, xsi_type
from tests.support.oai_samples import AUTHORITY, OAISchemas

# -- innerspace's own harvester -------------------------------------------------------------------

def test_own_harvester_matches_the_source_and_sickle(live: Live, schemas: OAISchemas) -> None:
    result = harvest(live.endpoint)
    assert result.authorities == {AUTHORITY} and result.skipped == []
    harvested = result.records
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
    # Every set: the records it holds of other authorities are not its to supply.
    everything = harvest(live.endpoint, set_spec=None)
    assert {r.ivoid for r in everything.records} == {
        r.ivoid for r in live.records if r.ivoid.startswith(AUTHORITY)}
    assert {ivoid for ivoid, _ in everything.skipped} == {
        r.ivoid for r in live.records if not r.ivoid.startswith(AUTHORITY)}
    assert len(everything.skipped) == 20
    since = second(live.records[200])
    recent = harvest(live.endpoint, since=since)
    assert {r.ivoid for r in recent.records} == selection(live.records, set_spec=MANAGED_SET,
                                                          lower=since)
    assert harvest(live.endpoint, since=datetime(2100, 1, 1, tzinfo=UTC)).records == []
    live.registry.page_size = 10  # type: ignore[attr-defined]
    try:
        with httpx.Client(timeout=60) as client:
            harvester = Harvester(live.endpoint, client)
            assert len(harvester.run(None, MANAGED_SET).records) == len(live.managed)
            assert harvester.pages == math.ceil(len(live.managed) / 10)
    finally:
        del live.registry.page_size  # type: ignore[attr-defined]


def test_own_harvester_errors(live: Live) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/registry/oai"
    with pytest.raises(HarvestError, match="cannot reach"):
        harvest(nobody, limits=RegistryLimits(harvest_timeout=5))
    with pytest.raises(OAIError) as raised:
        harvest(live.endpoint, set_spec="not a set")
    assert raised.value.oai_code == "badArgument"
    with pytest.raises(HarvestError, match="HTTP 404"):
        harvest(f"{live.url}/nothing-here")
    with pytest.raises(HarvestError, match="not answer with"):
        harvest(f"{live.url}/openapi.json")
