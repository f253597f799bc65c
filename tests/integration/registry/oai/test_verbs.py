"""The six OAI-PMH verbs of the publishing registry, each answered as OAI-PMH 2.0 and
Registry Interfaces 1.1 say: Identify with the vg:Registry record, ListMetadataFormats,
ListSets, GetRecord in ivo_vor and oai_dc, and oai_dc derived from VOResource."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from lxml import etree
from sickle import oaiexceptions
from sickle.iterator import OAIResponseIterator

from innerspace.registry.records import MANAGED_SET, RI_NS, VG_NS, XSI_NS
from tests.support.oai_live import (
    DC,
    OAI,
    OAI_DC,
    Live,
    canonical,
    oai_get,
    selection,
    sickle_for,
    stamp,
    xsi_type,
)
from tests.support.oai_samples import (
    ADMIN_EMAIL,
    APPS_SET,
    AUTHORITY,
    EARLIEST,
    REGISTRY_IVOID,
    REGISTRY_NAME,
    OAISchemas,
)

# -- the six verbs -------------------------------------------------------------------------------

def test_identify_describes_the_registry(live: Live, schemas: OAISchemas,
                                         http: httpx.Client) -> None:
    identify = sickle_for(live).Identify()
    assert identify.repositoryName == REGISTRY_NAME
    assert identify.baseURL == live.endpoint
    assert identify.protocolVersion == "2.0"
    assert identify.adminEmail == ADMIN_EMAIL
    assert identify.deletedRecord == "persistent"
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.earliestDatestamp == stamp(EARLIEST)
    assert identify.earliestDatestamp <= min(stamp(r.updated) for r in live.records)

    root = oai_get(http, live, schemas, {"verb": "Identify"})
    assert dict(root.find(f"{OAI}request").attrib) == {"verb": "Identify"}
    answered = datetime.strptime(root.findtext(f"{OAI}responseDate"), "%Y-%m-%dT%H:%M:%SZ")
    assert abs(answered.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)
    (description,) = root.findall(f"{OAI}Identify/{OAI}description")
    (resource,) = description
    assert resource.tag == f"{{{RI_NS}}}Resource"
    assert xsi_type(resource) == (VG_NS, "Registry")
    assert resource.findtext("identifier") == REGISTRY_IVOID
    assert resource.findtext("managedAuthority") == AUTHORITY.removeprefix("ivo://")
    harvest_caps = [c for c in resource.findall("capability") if xsi_type(c) == (VG_NS, "Harvest")]
    assert [c.findtext("interface/accessURL") for c in harvest_caps] == [live.endpoint]


def test_list_metadata_formats(live: Live, schemas: OAISchemas, http: httpx.Client) -> None:
    formats = {f.metadataPrefix: f for f in sickle_for(live).ListMetadataFormats()}
    assert set(formats) == {"ivo_vor", "oai_dc"}
    assert formats["ivo_vor"].metadataNamespace == RI_NS
    assert formats["oai_dc"].metadataNamespace == "http://www.openarchives.org/OAI/2.0/oai_dc/"
    assert formats["oai_dc"].schema == "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
    deleted = next(r for r in live.records if r.deleted)
    for identifier in (REGISTRY_IVOID, deleted.ivoid):
        root = oai_get(http, live, schemas,
                       {"verb": "ListMetadataFormats", "identifier": identifier})
        assert root.find(f"{OAI}request").get("identifier") == identifier
        assert [p.text for p in root.iter(f"{OAI}metadataPrefix")] == ["ivo_vor", "oai_dc"]
    with pytest.raises(oaiexceptions.IdDoesNotExist):
        list(sickle_for(live).ListMetadataFormats(identifier="ivo://nowhere.example/x"))


def test_list_sets_and_set_selection(live: Live, schemas: OAISchemas,
                                     http: httpx.Client) -> None:
    sets = {s.setSpec: s.setName for s in sickle_for(live).ListSets()}
    assert set(sets) == {MANAGED_SET, "innerspace", APPS_SET}
    assert sets[MANAGED_SET] != MANAGED_SET  # a human-readable name
    oai_get(http, live, schemas, {"verb": "ListSets"})
    apps = selection(live.records, set_spec=APPS_SET)
    for spec in ("innerspace", APPS_SET):  # a set includes its subsets
        found = {h.identifier for h in sickle_for(live).ListIdentifiers(
            metadataPrefix="ivo_vor", set=spec)}
        assert found == apps and len(apps) == 40


def test_get_record_in_both_formats(live: Live, schemas: OAISchemas, http: httpx.Client) -> None:
    record = next(r for r in live.records if "/scs/" in r.ivoid and not r.deleted)
    original = etree.fromstring(record.xml)
    root = oai_get(http, live, schemas, {"verb": "GetRecord", "identifier": record.ivoid,
                                         "metadataPrefix": "ivo_vor"})
    assert dict(root.find(f"{OAI}request").attrib) == {
        "verb": "GetRecord", "identifier": record.ivoid, "metadataPrefix": "ivo_vor"}
    (resource,) = root.find(f"{OAI}GetRecord/{OAI}record/{OAI}metadata")
    assert canonical(resource) == canonical(original)

    item = sickle_for(live).GetRecord(identifier=record.ivoid.upper().replace("IVO://", "ivo://"),
                                      metadataPrefix="oai_dc")
    assert item.header.identifier == record.ivoid  # ivoids compare case-insensitively
    assert item.metadata["title"] == [original.findtext("title")]
    assert record.ivoid in item.metadata["identifier"]
    assert item.metadata["publisher"] == [original.findtext("curation/publisher")]

    deleted = next(r for r in live.records if r.deleted)
    root = oai_get(http, live, schemas, {"verb": "GetRecord", "identifier": deleted.ivoid,
                                         "metadataPrefix": "ivo_vor"})
    (only,) = root.findall(f"{OAI}GetRecord/{OAI}record")
    assert only.find(f"{OAI}header").get("status") == "deleted"
    assert only.find(f"{OAI}metadata") is None
    assert sickle_for(live).GetRecord(identifier=deleted.ivoid, metadataPrefix="oai_dc").deleted


def test_oai_dc_is_derived_from_voresource(live: Live, schemas: OAISchemas) -> None:
    pages = list(sickle_for(live, iterator=OAIResponseIterator)
                 .ListRecords(metadataPrefix="oai_dc"))
    assert len(pages) == 3
    by_id = {r.ivoid: r for r in live.records}
    seen = 0
    for page in pages:
        root = schemas.validate(page.http_response.content)  # with the oai_dc stand-in
        for record in root.iter(f"{OAI}record"):
            ivoid = record.findtext(f"{OAI}header/{OAI}identifier")
            metadata = record.find(f"{OAI}metadata")
            if by_id[ivoid].deleted:
                assert metadata is None
                continue
            seen += 1
            (dc,) = metadata
            assert dc.tag == f"{OAI_DC}dc"
            assert {child.tag[:len(DC)] for child in dc} == {DC}
            source = etree.fromstring(by_id[ivoid].xml)

            def values(name: str, dc: Any = dc) -> list[str]:
                return [e.text for e in dc.findall(f"{DC}{name}")]

            def texts(path: str, source: Any = source) -> list[str]:
                return [" ".join(e.text.split()) for e in source.findall(path)]

            assert values("title") == texts("title")
            assert values("identifier")[0] == ivoid
            assert values("description") == texts("content/description")
            assert values("publisher") == texts("curation/publisher")
            assert values("creator") == texts("curation/creator/name") != []
            assert values("subject") == texts("content/subject") != []
            assert values("date") == texts("curation/date") != []
            assert values("type")[0] == source.get(f"{{{XSI_NS}}}type")
    assert seen == sum(not r.deleted for r in live.records)


