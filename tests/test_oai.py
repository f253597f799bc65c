"""The OAI-PMH publishing registry (IVOA Registry Interfaces 1.1) at /registry/oai, served by
uvicorn over ~260 sample records: harvested completely by a real OAI-PMH client (Sickle),
every verb, every reachable error code, from/until, sets, oai_dc, POST, resumption tokens,
and innerspace's own harvester. Every response is validated offline against OAI-PMH.xsd with
the RegistryInterface, VOResource, VODataService and VORegistry schemas (and an oai_dc
stand-in, see tests/oai_samples.py)."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree
from sickle import Sickle, oaiexceptions
from sickle.iterator import OAIResponseIterator

from innerspace.registry.harvest import Harvester, HarvestError, OAIError, harvest
from innerspace.registry.oai import RecordError, Repository, respond, router
from innerspace.registry.records import MANAGED_SET, RI_NS, VG_NS, XSI_NS, Record
from tests.conftest import SCHEMAS, free_port
from tests.oai_samples import (
    ADMIN_EMAIL,
    APPS_SET,
    AUTHORITY,
    EARLIEST,
    REGISTRY_IVOID,
    REGISTRY_NAME,
    TIE,
    OAISchemas,
    SampleRegistry,
    registry_xml,
    sample_records,
)

OAI = "{http://www.openarchives.org/OAI/2.0/}"
OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
DC = "{http://purl.org/dc/elements/1.1/}"
REACHABLE_CODES = {"badVerb", "badArgument", "cannotDisseminateFormat", "idDoesNotExist",
                   "noRecordsMatch", "badResumptionToken"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def second(record: Record) -> datetime:
    return record.updated.astimezone(UTC).replace(microsecond=0)


def selection(records: list[Record], *, set_spec: str | None = None,
              lower: datetime | None = None, upper: datetime | None = None) -> set[str]:
    """The ivoids OAI-PMH must list for these arguments (datestamps are whole seconds)."""
    return {r.ivoid for r in records
            if (set_spec is None or any(s == set_spec or s.startswith(f"{set_spec}:")
                                        for s in r.sets))
            and (lower is None or second(r) >= lower)
            and (upper is None or second(r) <= upper)}


def canonical(element: Any) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True)


def xsi_type(element: Any) -> tuple[str | None, str]:
    prefix, _, local = (element.get(f"{{{XSI_NS}}}type") or "").rpartition(":")
    return element.nsmap.get(prefix or None), local


# -- the live registry ------------------------------------------------------------------------

@dataclass
class Live:
    url: str
    endpoint: str
    app: FastAPI
    registry: SampleRegistry
    records: list[Record]
    server: Any = None
    thread: threading.Thread | None = None

    @property
    def managed(self) -> list[Record]:
        return [r for r in self.records if MANAGED_SET in r.sets]


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> OAISchemas:
    if not (SCHEMAS / "catalog.xml").is_file():
        pytest.skip(f"the IVOA schemas are not at {SCHEMAS}")
    return OAISchemas(SCHEMAS, tmp_path_factory.mktemp("oai-schemas"))


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    import uvicorn

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    records = sample_records(f"{url}/registry/oai")
    registry = SampleRegistry(records)
    app = FastAPI()
    app.include_router(router)
    app.state.services = SimpleNamespace(registry=registry)
    app.state.settings = SimpleNamespace(public_url=None)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield Live(url, f"{url}/registry/oai", app, registry, records, server, thread)
    server.should_exit = True
    thread.join(30)


@pytest.fixture
def http(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


def oai_get(http: httpx.Client, live: Live, schemas: OAISchemas,
            params: list[tuple[str, str]] | dict[str, str]) -> Any:
    response = http.get(live.endpoint, params=params)
    return checked(response, schemas)


def checked(response: httpx.Response, schemas: OAISchemas) -> Any:
    """An OAI-PMH answer: HTTP 200, text/xml in UTF-8, schema-valid; its root element."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].replace(" ", "").lower() == "text/xml;charset=utf-8"
    return schemas.validate(response.content)


def error_codes(root: Any) -> list[str]:
    return [e.get("code") for e in root.findall(f"{OAI}error")]


def sickle_for(live: Live, **kwargs: Any) -> Sickle:
    return Sickle(live.endpoint, timeout=60, **kwargs)


# -- the sample data ---------------------------------------------------------------------------

def test_sample_records_are_realistic_and_schema_valid(live: Live, schemas: OAISchemas) -> None:
    records = live.records
    assert len(records) >= 250
    assert len({r.ivoid for r in records}) == len(records)
    kinds: dict[tuple[str | None, str], int] = {}
    for record in records:
        root = schemas.validate(record.xml)
        assert root.tag == f"{{{RI_NS}}}Resource"
        assert root.findtext("identifier").lower() == record.ivoid == record.ivoid.lower()
        kinds[xsi_type(root)] = kinds.get(xsi_type(root), 0) + 1
    assert kinds[(VG_NS, "Registry")] == 1 and kinds[(VG_NS, "Authority")] == 1
    assert len(kinds) >= 5
    assert sum(r.deleted for r in records) >= 15
    assert len(records) - len(live.managed) >= 10  # harvested from elsewhere: not managed
    assert sum(APPS_SET in r.sets for r in records) >= 20
    # Several records share one datestamp second, right where the first page ends.
    assert len({second(r) for r in records[TIE]}) == 1
    assert len(live.managed) > 2 * 100  # the managed set alone needs three pages


# -- harvesting with Sickle --------------------------------------------------------------------

def test_sickle_harvests_every_record_through_every_token(live: Live,
                                                           schemas: OAISchemas) -> None:
    responses = list(sickle_for(live, iterator=OAIResponseIterator)
                     .ListRecords(metadataPrefix="ivo_vor"))
    assert len(responses) == math.ceil(len(live.records) / 100) >= 3
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
    for page in pages:
        root = schemas.validate(page.http_response.content)
        assert root.find(f"{OAI}request").get("set") in (MANAGED_SET, None)
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
        assert found == apps and len(apps) >= 20


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


# -- errors ------------------------------------------------------------------------------------

ERROR_CASES: list[tuple[str, list[tuple[str, str]], list[str]]] = [
    ("no verb", [], ["badVerb"]),
    ("unknown verb", [("verb", "Harvest")], ["badVerb"]),
    ("verb in the wrong case", [("verb", "identify")], ["badVerb"]),
    ("repeated verb", [("verb", "Identify"), ("verb", "Identify")], ["badVerb"]),
    ("only other arguments", [("metadataPrefix", "ivo_vor")], ["badVerb"]),
    ("argument Identify lacks", [("verb", "Identify"), ("set", "ivo_managed")],
     ["badArgument"]),
    ("unknown argument", [("verb", "ListSets"), ("foo", "bar")], ["badArgument"]),
    ("empty unknown argument", [("verb", "Identify"), ("x", "")], ["badArgument"]),
    ("no metadataPrefix", [("verb", "ListRecords")], ["badArgument"]),
    ("no identifier", [("verb", "GetRecord"), ("metadataPrefix", "ivo_vor")],
     ["badArgument"]),
    ("GetRecord without anything", [("verb", "GetRecord")], ["badArgument", "badArgument"]),
    ("repeated metadataPrefix", [("verb", "ListIdentifiers"), ("metadataPrefix", "ivo_vor"),
                                 ("metadataPrefix", "oai_dc")], ["badArgument"]),
    ("illegal from", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                      ("from", "yesterday")], ["badArgument"]),
    ("impossible date", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                         ("from", "2024-02-30")], ["badArgument"]),
    ("fractional seconds", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                            ("from", "2024-01-01T00:00:00.5Z")], ["badArgument"]),
    ("time zone offset", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                          ("until", "2024-01-01T00:00:00+01:00")], ["badArgument"]),
    ("mixed granularities", [("verb", "ListIdentifiers"), ("metadataPrefix", "ivo_vor"),
                             ("from", "2023-01-01"), ("until", "2024-01-01T00:00:00Z")],
     ["badArgument"]),
    ("from after until", [("verb", "ListIdentifiers"), ("metadataPrefix", "ivo_vor"),
                          ("from", "2024-01-02"), ("until", "2024-01-01")], ["badArgument"]),
    ("token with other arguments", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                                    ("resumptionToken", "abc")], ["badArgument"]),
    ("illegal metadataPrefix syntax", [("verb", "ListRecords"), ("metadataPrefix", "ivo vor")],
     ["badArgument"]),
    ("illegal set syntax", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                            ("set", "a b")], ["badArgument"]),
    ("identifier not a URI", [("verb", "GetRecord"), ("metadataPrefix", "ivo_vor"),
                              ("identifier", "no uri")], ["badArgument"]),
    ("unknown format", [("verb", "ListRecords"), ("metadataPrefix", "marc21")],
     ["cannotDisseminateFormat"]),
    ("unknown format for identifiers", [("verb", "ListIdentifiers"),
                                        ("metadataPrefix", "mods")],
     ["cannotDisseminateFormat"]),
    ("unknown format for a record", [("verb", "GetRecord"), ("metadataPrefix", "marc21"),
                                     ("identifier", REGISTRY_IVOID)],
     ["cannotDisseminateFormat"]),
    ("unknown record", [("verb", "GetRecord"), ("metadataPrefix", "ivo_vor"),
                        ("identifier", "ivo://nowhere.example/x")], ["idDoesNotExist"]),
    ("unknown record and format", [("verb", "GetRecord"), ("metadataPrefix", "marc"),
                                   ("identifier", "ivo://nowhere.example/x")],
     ["idDoesNotExist", "cannotDisseminateFormat"]),
    ("formats of an unknown record", [("verb", "ListMetadataFormats"),
                                      ("identifier", "ivo://nowhere.example/x")],
     ["idDoesNotExist"]),
    ("nothing that late", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                           ("from", "2100-01-01")], ["noRecordsMatch"]),
    ("nothing that early", [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"),
                            ("until", "2000-01-01T00:00:00Z")], ["noRecordsMatch"]),
    ("unknown set", [("verb", "ListIdentifiers"), ("metadataPrefix", "ivo_vor"),
                     ("set", "nosuchset")], ["noRecordsMatch"]),
    ("garbage token", [("verb", "ListRecords"), ("resumptionToken", "garbage")],
     ["badResumptionToken"]),
    ("token-shaped garbage", [("verb", "ListIdentifiers"),
                              ("resumptionToken", "e30.0123456789abcdef")],
     ["badResumptionToken"]),
    ("token for ListSets", [("verb", "ListSets"), ("resumptionToken", "x")],
     ["badResumptionToken"]),
]


@pytest.mark.parametrize(("params", "codes"), [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_error_codes(live: Live, schemas: OAISchemas, http: httpx.Client,
                     params: list[tuple[str, str]], codes: list[str]) -> None:
    root = oai_get(http, live, schemas, params)
    assert error_codes(root) == codes
    assert all(e.text for e in root.findall(f"{OAI}error"))  # each says what is wrong
    request = root.find(f"{OAI}request")
    assert request.text == live.endpoint
    if codes[0] in ("badVerb", "badArgument"):
        assert dict(request.attrib) == {}  # OAI-PMH 3.2: no attributes for these
    else:
        assert dict(request.attrib) == dict(params)
    assert not [c for c in root if c.tag not in (f"{OAI}responseDate", f"{OAI}request",
                                                 f"{OAI}error")]


def test_error_cases_cover_every_reachable_code() -> None:
    covered = {code for _, _, codes in ERROR_CASES for code in codes}
    # noMetadataFormats cannot happen (every record has both formats) and noSetHierarchy
    # neither (sets are supported).
    assert covered == REACHABLE_CODES


def test_sickle_raises_the_oai_errors(live: Live) -> None:
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        list(sickle_for(live).ListRecords(metadataPrefix="ivo_vor", **{"from": "2100-01-01"}))
    with pytest.raises(oaiexceptions.CannotDisseminateFormat):
        list(sickle_for(live).ListRecords(metadataPrefix="marc21"))
    with pytest.raises(oaiexceptions.BadResumptionToken):
        list(sickle_for(live).ListRecords(resumptionToken="bogus"))
    with pytest.raises(oaiexceptions.IdDoesNotExist):
        sickle_for(live).GetRecord(identifier="ivo://nowhere.example/x", metadataPrefix="oai_dc")


def first_token(http: httpx.Client, live: Live, schemas: OAISchemas, verb: str,
                **params: str) -> str:
    root = oai_get(http, live, schemas, {"verb": verb, "metadataPrefix": "ivo_vor", **params})
    token = root.findtext(f"{OAI}{verb}/{OAI}resumptionToken")
    assert token
    return token


def test_bad_resumption_tokens(live: Live, schemas: OAISchemas, http: httpx.Client) -> None:
    token = first_token(http, live, schemas, "ListRecords")
    good = oai_get(http, live, schemas, {"verb": "ListRecords", "resumptionToken": token})
    assert len(good.findall(f"{OAI}ListRecords/{OAI}record")) == 100
    assert dict(good.find(f"{OAI}request").attrib) == {"verb": "ListRecords",
                                                        "resumptionToken": token}
    tampered = [token[:5] + ("A" if token[5] != "A" else "B") + token[6:],
                token[:-1] + ("0" if token[-1] != "0" else "1"),
                token.replace(".", ""), token + "x", token.split(".")[0]]
    for bad in tampered:
        root = oai_get(http, live, schemas, {"verb": "ListRecords", "resumptionToken": bad})
        assert error_codes(root) == ["badResumptionToken"], bad
        assert dict(root.find(f"{OAI}request").attrib) == {"verb": "ListRecords",
                                                            "resumptionToken": bad}
    # A token belongs to its verb.
    root = oai_get(http, live, schemas, {"verb": "ListIdentifiers", "resumptionToken": token})
    assert error_codes(root) == ["badResumptionToken"]
    assert "ListRecords" in root.findtext(f"{OAI}error")


def test_token_carries_the_arguments(live: Live, schemas: OAISchemas,
                                     http: httpx.Client) -> None:
    live.registry.page_size = 25  # type: ignore[attr-defined]
    try:
        lower = second(live.records[40])
        expected = selection(live.records, set_spec=MANAGED_SET, lower=lower)
        pages = list(sickle_for(live, iterator=OAIResponseIterator).ListIdentifiers(
            metadataPrefix="oai_dc", set=MANAGED_SET, **{"from": stamp(lower)}))
        assert len(pages) == math.ceil(len(expected) / 25) >= 8
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


# -- POST, odd requests, the record source ---------------------------------------------------

def without_date(document: bytes) -> bytes:
    root = etree.fromstring(document)
    root.find(f"{OAI}responseDate").text = ""
    return etree.tostring(root)


def test_post_works_like_get(live: Live, schemas: OAISchemas, http: httpx.Client) -> None:
    token = first_token(http, live, schemas, "ListIdentifiers")
    requests = [
        {"verb": "Identify"}, {"verb": "ListSets"}, {"verb": "ListMetadataFormats"},
        {"verb": "GetRecord", "identifier": REGISTRY_IVOID, "metadataPrefix": "oai_dc"},
        {"verb": "ListRecords", "metadataPrefix": "ivo_vor", "set": MANAGED_SET},
        {"verb": "ListIdentifiers", "resumptionToken": token},
        {"verb": "ListRecords", "metadataPrefix": "nope"}, {"verb": "Nope"},
    ]
    for params in requests:
        got = checked(http.get(live.endpoint, params=params), schemas)
        posted = http.post(live.endpoint, data=params)
        checked(posted, schemas)
        assert without_date(posted.content) == without_date(etree.tostring(got)), params
    by_get = [(r.header.identifier, r.deleted)
              for r in sickle_for(live).ListRecords(metadataPrefix="ivo_vor")]
    by_post = [(r.header.identifier, r.deleted)
               for r in sickle_for(live, http_method="POST").ListRecords(metadataPrefix="ivo_vor")]
    assert by_post == by_get and len(by_post) == len(live.records)


def test_unreadable_requests_are_bad_arguments(live: Live, schemas: OAISchemas,
                                               http: httpx.Client) -> None:
    cases = [
        http.post(live.endpoint, content=b'{"verb": "Identify"}',
                  headers={"content-type": "application/json"}),
        http.post(live.endpoint, content=b"verb=Identify&set=\xff\xfe",
                  headers={"content-type": "application/x-www-form-urlencoded"}),
        http.post(live.endpoint, content=b"verb=Identify",
                  headers={"content-type": "application/x-www-form-urlencoded; charset=latin-1"}),
        http.post(live.endpoint, content=b"verb=Identify&x=" + b"y" * 70_000,
                  headers={"content-type": "application/x-www-form-urlencoded"}),
        http.get(f"{live.endpoint}?verb=Identify&set=%ff"),
        http.get(f"{live.endpoint}?" + "&".join(f"a{i}=1" for i in range(100))),
    ]
    for response in cases:
        root = checked(response, schemas)
        assert error_codes(root) == ["badArgument"], response.request
        assert dict(root.find(f"{OAI}request").attrib) == {}
    # Arguments split between the query and the body count together.
    root = checked(http.post(f"{live.endpoint}?verb=ListSets", data={"verb": "ListSets"}),
                   schemas)
    assert error_codes(root) == ["badVerb"]
    root = checked(http.post(f"{live.endpoint}?verb=ListSets", data={}), schemas)
    assert error_codes(root) == []


HOSTILE = [
    "verb=Identify%00", "verb=%3Cscript%3E&x=%26", "verb=GetRecord&identifier=ivo%3A%2F%2Fa%0b"
    "&metadataPrefix=ivo_vor", "verb=ListRecords&metadataPrefix=ivo_vor&set=%E2%98%83",
    "verb=ListRecords&metadataPrefix=%E2%98%83", "verb=GetRecord&metadataPrefix=ivo_vor&"
    "identifier=" + "a" * 5000, "verb=ListRecords&metadataPrefix=ivo_vor&from=9999-99-99",
    "verb=ListRecords&metadataPrefix=ivo_vor&from=0000-01-01", "verb", "=&=&", "&&&",
    "verb=ListRecords&resumptionToken=" + "%FF" * 3,
    "verb=ListRecords&resumptionToken=eyJ2IjoxfQ.0000000000000000",
    "verb=ListIdentifiers&resumptionToken=%3C%26%3E", "verb=GetRecord&identifier=x:y&"
    "metadataPrefix=ivo_vor", "verb=ListRecords&metadataPrefix=ivo_vor&until=2023-01-15T08:00:00Z"
    "&from=2023-01-15T08:00:00Z", "verb=Identify&verb=ListSets&foo=bar",
    "verb=GetRecord&metadataPrefix=ivo_vor&identifier=a%3A%25zz",
    "verb=GetRecord&metadataPrefix=ivo_vor&identifier=http%3A%2F%2F%5B%3A%3A1",
    "verb=ListMetadataFormats&identifier=ivo%3A%2F%2Fx%2F%23a%23b",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_requests_get_oai_answers(live: Live, schemas: OAISchemas, http: httpx.Client,
                                          query: str) -> None:
    for response in (http.get(f"{live.endpoint}?{query}"),
                     http.post(live.endpoint, content=query.encode(),
                               headers={"content-type": "application/x-www-form-urlencoded"})):
        root = checked(response, schemas)
        body = [c for c in root if c.tag not in (f"{OAI}responseDate", f"{OAI}request")]
        assert body and (error_codes(root) or body[0].tag.startswith(OAI))


FUZZ_VALID = {"identifier": [REGISTRY_IVOID, AUTHORITY, "ivo://nowhere.example/x"],
              "metadataPrefix": ["ivo_vor", "oai_dc", "marc21"],
              "from": ["2023-01-20", "2023-01-20T10:00:00Z", "2100-01-01"],
              "until": ["2023-02-01", "2023-02-01T00:00:00Z", "2000-01-01"],
              "set": [MANAGED_SET, APPS_SET, "innerspace", "nosuchset"],
              "resumptionToken": ["e30.0123456789abcdef"], "foo": ["bar"]}
FUZZ_JUNK = [*"aZ09:/#%[]<>&\"' -_.!~*()?=+", "%zz", "%2", "\u00e9", "\u2028", "\ufeff",
             "\U0001f600", "\x00", "\x0b", "\ud800", "\ufffe", "T", "Z", "-"]
VERBS = ["Identify", "ListMetadataFormats", "ListSets", "GetRecord", "ListIdentifiers",
         "ListRecords"]
VERB_ARGUMENTS = {"Identify": [], "ListMetadataFormats": ["identifier"],
                  "ListSets": ["resumptionToken"], "GetRecord": ["identifier", "metadataPrefix"],
                  "ListIdentifiers": ["metadataPrefix", "from", "until", "set"],
                  "ListRecords": ["metadataPrefix", "from", "until", "set"]}


def fuzz_value(rng: random.Random, name: str) -> str:
    if rng.random() < 0.7:
        return rng.choice(FUZZ_VALID[name])
    return "".join(rng.choice(FUZZ_JUNK) for _ in range(rng.randint(0, 12)))


def test_fuzzed_arguments_always_give_valid_documents(live: Live, schemas: OAISchemas) -> None:
    rng = random.Random(20260501)
    outcomes: dict[str, int] = {}
    for _ in range(400):
        verb = rng.choice([*VERBS, "Nope"]) if rng.random() < 0.9 else fuzz_value(rng, "foo")
        names = list(VERB_ARGUMENTS.get(verb, []))
        if names and verb.startswith("List") and rng.random() < 0.5:
            names = [names[0], *rng.sample(names[1:], rng.randint(0, len(names) - 1))]
        if rng.random() < 0.2:
            names = [] if rng.random() < 0.5 else [*names, rng.choice(list(FUZZ_VALID))]
        arguments = {"verb": [verb]}
        for name in names:
            arguments[name] = [fuzz_value(rng, name)
                               for _ in range(1 if rng.random() < 0.9 else 2)]
        root = schemas.validate(respond(arguments, live.records, REPOSITORY))
        answer = root[2].tag.removeprefix(OAI)
        assert answer in [*VERBS, "error"]
        for code in error_codes(root) or [answer]:
            outcomes[code] = outcomes.get(code, 0) + 1
    # The fuzzing reaches every verb's answer and every reachable error.
    assert outcomes.keys() == set(VERBS) | REACHABLE_CODES, outcomes


def test_record_source_failure_is_503(live: Live, http: httpx.Client) -> None:
    live.registry.failing = True
    try:
        response = http.get(live.endpoint, params={"verb": "Identify"})
    finally:
        live.registry.failing = False
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert http.get(live.endpoint, params={"verb": "Identify"}).status_code == 200


def test_public_url_is_the_base_url(live: Live, schemas: OAISchemas, http: httpx.Client) -> None:
    live.app.state.settings.public_url = "https://vo.example/innerspace/"
    try:
        root = oai_get(http, live, schemas, {"verb": "Identify"})
    finally:
        live.app.state.settings.public_url = None
    expected = "https://vo.example/innerspace/registry/oai"
    assert root.findtext(f"{OAI}request") == expected
    assert root.findtext(f"{OAI}Identify/{OAI}baseURL") == expected


# -- respond() on its own --------------------------------------------------------------------------

REPOSITORY = Repository(REGISTRY_IVOID, ADMIN_EMAIL, REGISTRY_NAME,
                        "http://registry.example/registry/oai", EARLIEST)


def pages(arguments: dict[str, list[str]], records: list[Record], repository: Repository,
          now: datetime | None = None) -> list[Any]:
    """Every page of a list, following the tokens."""
    verb = arguments["verb"][0]
    roots = []
    while True:
        root = etree.fromstring(respond(arguments, records, repository, now))
        roots.append(root)
        token = root.findtext(f"{OAI}{verb}/{OAI}resumptionToken")
        if not token:
            return roots
        arguments = {"verb": [verb], "resumptionToken": [token]}


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
    element = first.find(f"{OAI}ListRecords/{OAI}resumptionToken")
    assert element.get("expirationDate") == "2026-05-01T14:00:00Z"
    follow = {"verb": ["ListRecords"], "resumptionToken": [element.text]}
    later = etree.fromstring(respond(follow, live.records, repository,
                                     now + timedelta(hours=1)))
    assert error_codes(later) == [] and len(later.findall(f"{OAI}ListRecords/{OAI}record")) == 100
    expired = etree.fromstring(respond(follow, live.records, repository,
                                       now + timedelta(hours=2, seconds=1)))
    assert error_codes(expired) == ["badResumptionToken"]
    assert "expired" in expired.findtext(f"{OAI}error")


def test_lists_survive_changes_between_pages(live: Live) -> None:
    records = list(live.records)
    first = etree.fromstring(respond({"verb": ["ListIdentifiers"],
                                      "metadataPrefix": ["ivo_vor"]}, records, REPOSITORY))
    token = first.findtext(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
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
    assert raised.value.code == "badArgument"
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
