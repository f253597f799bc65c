"""The RegTAP 1.1 registry: ingestion of VOResource records into the rr tables, the ADQL
translation, and the TAP/VOSI endpoints as real pyvo (registry.search, TAPService) uses them,
served by uvicorn from a small FastAPI app holding a RegTAPIndex."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from astropy.io.votable import parse as parse_votable
from lxml import etree

from innerspace.registry.adql import ADQLError, translate
from innerspace.registry.records import Record
from innerspace.registry.regtap import PHYSICAL, RegTAPError, RegTAPIndex, router
from tests.conftest import free_port
from tests.regtap_samples import (
    APP_IVOID,
    DELETED_IVOID,
    INACTIVE_IVOID,
    ORG_IVOID,
    REGISTRY_IVOID,
    SIA_IVOID,
    TAP_IVOID,
    UPDATED,
    UWS_IVOID,
    sample_records,
)

pyvo = pytest.importorskip("pyvo")
from pyvo import registry  # noqa: E402
from pyvo.dal import DALQueryError, TAPService  # noqa: E402

VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"
RR_TABLES = ("resource", "capability", "interface", "res_subject", "res_role", "res_detail",
             "relationship", "res_date", "intf_param", "alt_identifier", "validation",
             "res_schema", "res_table", "table_column")


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def index() -> RegTAPIndex:
    index = RegTAPIndex()
    index.load(sample_records())
    return index


class LiveRegTAP:
    """A FastAPI app with the RegTAP router at /registry/tap, served by uvicorn in a thread."""

    def __init__(self, index: RegTAPIndex | None) -> None:
        import uvicorn
        from fastapi import FastAPI

        app = FastAPI()
        if index is not None:
            app.state.services = SimpleNamespace(regtap=index)
        app.include_router(router, prefix="/registry/tap")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/registry/tap"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveRegTAP:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the RegTAP service did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def live(index: RegTAPIndex) -> Iterator[LiveRegTAP]:
    with LiveRegTAP(index) as service:
        yield service


@pytest.fixture(scope="module")
def regtap(live: LiveRegTAP) -> Iterator[str]:
    """pyvo.registry pointed at the live service (and back afterwards)."""
    previous = registry.regtap.get_RegTAP_service_url()
    registry.choose_RegTAP_service(live.url)
    yield live.url
    registry.choose_RegTAP_service(previous)


@pytest.fixture
def http(live: LiveRegTAP) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def ivoids(results: Any) -> set[str]:
    return {r.ivoid for r in results}


def rows(index: RegTAPIndex, query: str) -> list[tuple[Any, ...]]:
    return index.query(query, maxrec=100_000).rows


def dump(index: RegTAPIndex) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(rows(index, f"SELECT * FROM rr.{t}"), key=repr) for t in RR_TABLES}


# -- schema validation ---------------------------------------------------------------------

def schema_errors(schemas: Any, document: bytes) -> list[str]:
    """Schema errors, but the one TAPRegExt 1.0 itself causes: its dataModel/@ivo-id is a
    vr:IdentifierURI, which VOResource 1.1 defines without fragments, so every real data
    model id (ivo://ivoa.net/std/RegTAP#1.1, ...#core-1.1) fails its pattern. RegTAP 1.1 and
    pyvo need exactly these ids; TAPRegExt 1.1 makes the attribute a plain anyURI."""
    root = etree.fromstring(document, schemas.parser)
    if schemas.schema.validate(root):
        return []
    return [f"{e.line}: {e.message}" for e in schemas.schema.error_log
            if not (e.type_name == "SCHEMAV_CVC_PATTERN_VALID"
                    and "'dataModel', attribute 'ivo-id'" in e.message and "#" in e.message)]


def test_sample_records_are_valid(xml_schemas: Any) -> None:
    for record in sample_records():
        wrapped = (b'<ri:VOResources xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0"'
                   b' from="1" numberReturned="1" more="false">' + record.xml
                   + b"</ri:VOResources>")
        assert schema_errors(xml_schemas, wrapped) == [], record.ivoid


# -- ingestion -----------------------------------------------------------------------------

def test_only_active_records_are_ingested(index: RegTAPIndex) -> None:
    found = {r[0] for r in rows(index, "SELECT ivoid FROM rr.resource")}
    assert found == {TAP_IVOID, SIA_IVOID, UWS_IVOID, APP_IVOID, ORG_IVOID, REGISTRY_IVOID,
                     "ivo://example.org"}
    assert DELETED_IVOID not in found and INACTIVE_IVOID not in found
    report = RegTAPIndex().load(sample_records())
    assert report.loaded == 7
    assert dict(report.skipped) == {DELETED_IVOID: "deleted", INACTIVE_IVOID: "inactive"}


def test_resource_columns(index: RegTAPIndex) -> None:
    result = index.query(f"SELECT * FROM rr.resource WHERE ivoid = '{TAP_IVOID}'")
    tap = dict(zip(result.names, result.rows[0], strict=True))
    assert tap["ivoid"] == TAP_IVOID, "identifier lower-cased"
    assert tap["res_type"] == "vs:catalogservice"
    assert tap["created"] == "2019-04-01T00:00:00" and tap["updated"] == "2026-03-01T12:00:00"
    assert tap["short_name"] == "EDSS TAP"
    assert tap["res_title"] == "Example Deep Sky Survey TAP service"
    assert tap["content_level"] == "research#university"
    assert tap["content_type"] == "catalog#survey"
    assert tap["creator_seq"] == "Lovelace, A.; Example Survey Team"
    assert tap["source_format"] == "bibcode" and tap["source_value"] == "2026EDSS....3....1L"
    assert tap["res_version"] == "3.1"
    assert tap["waveband"] == "optical#infrared"
    assert tap["region_of_regard"] == pytest.approx(0.0003)
    assert tap["rights"] == "CC BY 4.0"
    assert tap["rights_uri"] == "https://spdx.org/licenses/CC-BY-4.0.html"
    assert tap["res_description"].startswith("Table access to the third data release")
    org = rows(index, f"SELECT res_type, waveband, res_version FROM rr.resource "
                      f"WHERE ivoid = '{ORG_IVOID}'")
    assert org == [("vr:organisation", None, None)], "absent values are NULL"


def test_capabilities_and_interfaces(index: RegTAPIndex) -> None:
    capabilities = rows(index, "SELECT ivoid, cap_index, cap_type, standard_id "
                               "FROM rr.capability ORDER BY ivoid, cap_index")
    assert (UWS_IVOID, 0, None, "ivo://ivoa.net/std/uws#rest-1.1") in capabilities
    assert (TAP_IVOID, 0, "tr:tableaccess", "ivo://ivoa.net/std/tap") in capabilities
    assert (REGISTRY_IVOID, 0, "vg:harvest", "ivo://ivoa.net/std/registry") in capabilities
    assert (TAP_IVOID, 2, None, None) in capabilities, "a capability without standardID"
    interfaces = {(r[0], r[2]): r for r in rows(index, "SELECT * FROM rr.interface")}
    # ivoid, cap_index, intf_index, intf_type, intf_role, std_version, query_type,
    # result_type, wsdl_url, url_use, access_url, mirror_url, authenticated_only
    assert interfaces[(TAP_IVOID, 0)] == (
        TAP_IVOID, 0, 0, "vs:paramhttp", "std", "1.1", None, None, None, "base",
        "https://vo.example.org/survey/tap", "https://mirror.example.net/survey/tap", 0)
    assert interfaces[(TAP_IVOID, 2)][3:5] == ("vr:webbrowser", None)
    sia = interfaces[(SIA_IVOID, 0)]
    assert sia[5:8] == ("2.0", "get#post", "application/x-votable+xml")
    assert sia[12] == 1, "only a securityMethod with a standardID: authenticated only"
    assert interfaces[(REGISTRY_IVOID, 0)][3] == "vg:oaihttp"
    params = rows(index, f"SELECT name, ucd, unit, std, datatype, arraysize, param_use "
                         f"FROM rr.intf_param WHERE ivoid = '{SIA_IVOID}' ORDER BY name")
    assert params == [("band", "em.wl", "m", 0, "double", "2", "optional"),
                      ("pos", "pos.outline", None, 1, "char", None, "required")]


def test_roles_dates_relationships_subjects(index: RegTAPIndex) -> None:
    roles = rows(index, f"SELECT base_role, role_name, role_ivoid, street_address, email, "
                        f"telephone, logo FROM rr.res_role WHERE ivoid = '{TAP_IVOID}'")
    assert ("publisher", "Example Observatory Data Centre", ORG_IVOID, None, None, None,
            None) in roles
    assert ("creator", "Lovelace, A.", None, None, None, None,
            "https://vo.example.org/logo.png") in roles
    assert ("creator", "Example Survey Team", ORG_IVOID, None, None, None, None) in roles
    assert ("contributor", "Babbage, C.", None, None, None, None, None) in roles
    assert ("contact", "Example helpdesk", None, "1 Observatory Road, Edinburgh",
            "help@example.org", "+44 131 000 0000", None) in roles
    dates = rows(index, f"SELECT date_value, value_role FROM rr.res_date "
                        f"WHERE ivoid = '{TAP_IVOID}' ORDER BY date_value")
    assert dates == [("2019-04-01T00:00:00", "created"), ("2026-02-28T10:15:00", "updated")]
    relations = rows(index, "SELECT ivoid, relationship_type, related_id, related_name "
                            "FROM rr.relationship ORDER BY ivoid")
    assert (TAP_IVOID, "isservedby", SIA_IVOID, "EDSS image service") in relations, \
        "served-by translated, related id lower-cased"
    assert (APP_IVOID, "isservedby", UWS_IVOID,
            "Example innerspace execution service") in relations
    subjects = rows(index, f"SELECT res_subject FROM rr.res_subject WHERE ivoid = '{TAP_IVOID}'")
    assert sorted(s for (s,) in subjects) == ["Stellar astronomy", "gamma-ray bursts",
                                              "surveys"], "subjects keep their case"
    assert rows(index, "SELECT ivoid, alt_identifier FROM rr.alt_identifier "
                       "ORDER BY alt_identifier") == [
        (TAP_IVOID, "doi:10.5072/edss-dr3"),
        (TAP_IVOID, "https://orcid.org/0000-0002-1825-0097")]
    assert rows(index, "SELECT * FROM rr.validation") == [
        (TAP_IVOID, "ivo://example.org/registry", 2, None)]


def test_res_detail(index: RegTAPIndex) -> None:
    details = set(rows(index, "SELECT ivoid, cap_index, detail_xpath, detail_value "
                              "FROM rr.res_detail"))
    assert (REGISTRY_IVOID, 1, "/capability/dataModel/@ivo-id",
            "ivo://ivoa.net/std/RegTAP#1.1") in details, "values keep their case"
    assert (TAP_IVOID, 0, "/capability/dataModel", "ObsCore-1.1") in details
    assert (TAP_IVOID, 0, "/capability/language/version/@ivo-id",
            "ivo://ivoa.net/std/ADQL#v2.0") in details
    assert (TAP_IVOID, 0, "/capability/outputLimit/hard/@unit", "row") in details
    assert (TAP_IVOID, 0, "/capability/executionDuration/hard", "3600") in details
    assert (REGISTRY_IVOID, 0, "/capability/maxRecords", "100") in details
    assert (SIA_IVOID, 0, "/capability/interface/securityMethod/@standardID",
            "ivo://ivoa.net/sso#BasicAA") in details
    assert (SIA_IVOID, 0, "/capability/interface/testQueryString",
            "POS=CIRCLE 10 10 0.1") in details
    assert (REGISTRY_IVOID, None, "/managedAuthority", "example.org") in details
    assert (REGISTRY_IVOID, None, "/full", "false") in details
    assert ("ivo://example.org", None, "/managingOrg", "Example Observatory Data Centre"
            ) in details
    assert (ORG_IVOID, None, "/instrument/@ivo-id", "ivo://example.org/widecam") in details
    assert (TAP_IVOID, None, "/facility", "Example 4m Telescope") in details
    assert (TAP_IVOID, None, "/coverage/footprint/@ivo-id", "ivo://ivoa.net/std/moc") in details
    assert not [d for d in details if "accessURL" in d[2] or "languageFeatures" in d[2]], \
        "interface access URLs belong in rr.interface only; language features are not kept"


def test_tablesets(index: RegTAPIndex) -> None:
    assert rows(index, "SELECT ivoid, schema_index, schema_name, schema_title "
                       "FROM rr.res_schema") == [
        (TAP_IVOID, 0, "edss", "Example Deep Sky Survey DR3")]
    assert rows(index, "SELECT table_index, schema_index, table_name, table_type, table_utype "
                       "FROM rr.res_table ORDER BY table_index") == [
        (0, 0, "edss.Source", "base_table", "ivo://example.org/dm#source"),
        (1, 0, "edss.Epoch", None, None)]
    columns = rows(index, "SELECT table_index, name, ucd, unit, std, datatype, type_system, "
                          "flag FROM rr.table_column ORDER BY table_index, name")
    assert columns == [
        (0, "phot_g_mag", "phot.mag;em.opt.g", "mag", None, "float", "vs:votabletype",
         "nullable"),
        (0, "ra", "pos.eq.ra;meta.main", "deg", 1, "double", "vs:votabletype", None),
        (0, "source_id", "meta.id;meta.main", None, None, "long", "vs:votabletype",
         "primary#indexed"),
        (1, "obs_time", "time.epoch", "d", None, "timestamp", "vs:taptype", None)]


def test_load_is_deterministic_and_replaces_everything(index: RegTAPIndex) -> None:
    again = RegTAPIndex()
    again.load(list(reversed(sample_records())))
    assert dump(again) == dump(index)
    uws = next(r for r in sample_records() if r.ivoid == UWS_IVOID)
    report = again.load([uws, Record("ivo://example.org/bad", b"<not xml", UPDATED)])
    assert report.loaded == 1 and report.skipped[0][0] == "ivo://example.org/bad"
    assert rows(again, "SELECT ivoid FROM rr.resource") == [(UWS_IVOID,)]
    assert rows(again, "SELECT COUNT(*) FROM rr.res_role") == [(2,)]
    assert rows(again, "SELECT COUNT(*) FROM rr.table_column") == [(0,)]


def test_file_index_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "regtap.sqlite"
    first = RegTAPIndex(path)
    assert first.count() == 0
    first.load(sample_records())
    reopened = RegTAPIndex(path)
    assert reopened.count() == 7
    assert dump(reopened) == dump(first)
    first.load([])
    assert first.count() == 0 and RegTAPIndex(path).count() == 0
    assert [p.name for p in tmp_path.iterdir()] == ["regtap.sqlite"]
    stale = tmp_path / "stale.sqlite"
    stale.write_bytes(path.read_bytes())
    sqlite3.connect(stale).execute("PRAGMA user_version = 0").connection.close()
    assert RegTAPIndex(stale).count() == 0, "a file of another schema version is rebuilt"


# -- ADQL translation ----------------------------------------------------------------------

@pytest.mark.parametrize(("query", "message"), [
    ("SELEC ivoid FROM rr.resource", "syntax error"),
    ("SELECT ivoid FROM", "syntax error"),
    ("", "empty"),
    ("SELECT ivoid FROM rr.nothing", "unknown table rr.nothing"),
    ("SELECT * FROM sqlite_master", "unknown table sqlite_master"),
    ("SELECT * FROM rr_resource", "unknown table rr_resource"),
    ("SELECT x.y.ivoid FROM rr.resource", "unknown table x.y"),
    ("DELETE FROM rr.resource", "only SELECT"),
    ("DROP TABLE rr.resource", "only SELECT"),
    ("INSERT INTO rr.resource (ivoid) VALUES ('ivo://x')", "only SELECT"),
    ("UPDATE rr.resource SET res_title = 'x'", "only SELECT"),
    ("CREATE TABLE rr.x (a INTEGER)", "only SELECT"),
    ("PRAGMA query_only = OFF", "only SELECT"),
    ("ATTACH DATABASE '/tmp/x.db' AS x", "syntax error"),
    ("SELECT ivoid FROM rr.resource; DELETE FROM rr.resource", "only one statement"),
    ("SELECT 1 FROM rr.resource; SELECT 2 FROM rr.resource", "only one statement"),
    ("SELECT * INTO copy FROM rr.resource", "INTO"),
    ("SELECT ivoid FROM rr.resource WHERE ivoid = ?", "parameters"),
    ("SELECT load_extension('x') FROM rr.resource", "unknown function load_extension"),
    ("SELECT ivo_hasword(res_title) FROM rr.resource", "takes 2 arguments"),
    ("SELECT 1 FROM rr.resource WHERE 1 = CONTAINS(POINT('ICRS', 1, 2), "
     "CIRCLE('ICRS', 1, 2, 3))", "not supported"),
])
def test_refused_queries(query: str, message: str) -> None:
    with pytest.raises(ADQLError, match=message):
        translate(query, PHYSICAL)


def test_translation() -> None:
    sql = translate("SELECT TOP 5 rr.resource.ivoid, COUNT(*) FROM rr.resource NATURAL LEFT "
                    "OUTER JOIN rr.capability WHERE res_title ILIKE '%Tap%' "
                    "AND LOG(1) = 0 GROUP BY rr.resource.ivoid", PHYSICAL)
    assert sql == ("SELECT `resource`.`ivoid`, COUNT(*) AS `count` FROM `rr_resource` AS "
                   "`resource` NATURAL LEFT OUTER JOIN `rr_capability` AS `capability` WHERE "
                   "LOWER(`res_title`) LIKE '%tap%' AND LN(1) = 0 GROUP BY "
                   "`resource`.`ivoid` LIMIT 5")
    agg = translate("SELECT ivo_string_agg(access_url, '#') FROM rr.interface", PHYSICAL)
    assert "COALESCE(GROUP_CONCAT(`access_url`, '#'), '')" in agg
    assert "`Res_Title`" in translate('SELECT "Res_Title" FROM rr.resource', PHYSICAL), \
        "delimited identifiers never become string literals in SQLite"


def test_functions_and_operators(index: RegTAPIndex) -> None:
    def one(query: str) -> Any:
        return rows(index, query)[0][0]

    assert one("SELECT ivo_hasword('Gamma-ray bursts, quasars', 'RAY') FROM rr.resource") == 1
    assert one("SELECT ivo_hasword('Gamma-ray bursts', 'burst') FROM rr.resource") == 0
    assert one("SELECT ivo_hasword('Étoiles doubles', 'étoiles') FROM rr.resource") == 1
    assert one("SELECT ivo_nocasematch('Example TAP', '%tap') FROM rr.resource") == 1
    assert one("SELECT ivo_nocasematch(NULL, '%') FROM rr.resource") == 0
    assert one("SELECT ivo_hashlist_has('optical#infrared', 'Infrared') FROM rr.resource") == 1
    assert one("SELECT ivo_hashlist_has('optical#infrared', 'red') FROM rr.resource") == 0
    assert one("SELECT ivo_interval_overlaps(1, 2, 2, 3) FROM rr.resource") == 1
    assert one("SELECT COUNT(*) FROM rr.resource WHERE res_title LIKE 'example%'") == 0, \
        "LIKE is case-sensitive"
    assert one("SELECT COUNT(*) FROM rr.resource WHERE res_title ILIKE 'example%'") == 6
    assert one("SELECT COUNT(*) FROM rr.resource WHERE res_title NOT ILIKE 'example%'") == 1
    assert one("SELECT COUNT(*) FROM rr.res_role WHERE role_name ILIKE 'ÉXAMPLE%'") == 0
    assert one("SELECT MOD(7.5, 2) FROM rr.resource") == pytest.approx(1.5)
    assert one("SELECT TRUNCATE(2.789, 2) FROM rr.resource") == pytest.approx(2.78)
    assert one("SELECT LOG10(1000) + LOG(EXP(2)) FROM rr.resource") == pytest.approx(5)
    assert one("SELECT ivo_string_agg(res_subject, ',') FROM rr.res_subject "
               "WHERE ivoid = 'ivo://nowhere'") == "", "an empty aggregate is ''"


# -- pyvo.registry over HTTP ---------------------------------------------------------------

def test_keyword_search(regtap: str) -> None:
    assert ivoids(registry.search(keywords="quasar")) == {TAP_IVOID}, "description word"
    assert ivoids(registry.search(keywords="cutouts")) == {SIA_IVOID}, "title or description"
    assert ivoids(registry.search(keywords=["gamma", "survey"])) == {TAP_IVOID}, \
        "subject pattern and description word"
    assert ivoids(registry.search(keywords="containerised")) == {UWS_IVOID}
    assert ivoids(registry.search(keywords="no-such-word-anywhere")) == set()


def test_keyword_search_without_union(regtap: str) -> None:
    """pyvo's other form of the keyword search, for services without UNION: ORs over a
    NATURAL LEFT OUTER JOIN with rr.res_subject."""
    from pyvo.registry import rtcons

    class WithoutSets:
        def get_tap_capability(self) -> Any:
            features = SimpleNamespace(get_feature=lambda *_: None)
            return SimpleNamespace(get_adql=lambda: features)

    query = rtcons.build_regtap_query([rtcons.Freetext("gamma", "survey")], WithoutSets())
    assert "UNION" not in query and "rr.res_subject" in query
    found = registry.regtap.RegistryQuery(regtap, query).execute()
    assert ivoids(found) == {TAP_IVOID}


def test_servicetype_search(regtap: str) -> None:
    tap = registry.search(servicetype="tap")
    assert ivoids(tap) == {TAP_IVOID, REGISTRY_IVOID}
    assert tap[TAP_IVOID].access_url == "https://vo.example.org/survey/tap"
    assert ivoids(registry.search(registry.Servicetype("tap"))) == ivoids(tap)
    service = tap[TAP_IVOID].get_service("tap")
    assert isinstance(service, TAPService)
    assert service.baseurl == "https://vo.example.org/survey/tap"
    sia2 = registry.search(servicetype="sia2")
    assert ivoids(sia2) == {SIA_IVOID}
    assert sia2[0].access_url == "https://vo.example.org/survey/sia2/query"
    assert sia2[0].get_service("sia2").baseurl == "https://vo.example.org/survey/sia2/query"
    with_aux = registry.search(servicetype="sia2", includeaux=True)
    assert sorted(with_aux[0]["access_urls"]) == ["https://vo.example.org/survey/sia2/aux",
                                               "https://vo.example.org/survey/sia2/query"]


def test_uws_standard_id_search(regtap: str) -> None:
    for standard in ("ivo://ivoa.net/std/uws#rest-1.1", "ivo://ivoa.net/std/UWS#rest-1.1"):
        found = registry.search(registry.Servicetype(standard))
        assert ivoids(found) == {UWS_IVOID}, standard
        assert found[0].access_url == "https://vo.example.org/innerspace/jobs"
    uws = registry.search(ivoid=UWS_IVOID)[0]
    interface = uws.get_interface(service_type="ivo://ivoa.net/std/uws#rest-1.1")
    assert interface.access_url == "https://vo.example.org/innerspace/jobs"
    assert sorted(uws.access_modes()) == ["uws#rest-1.1"], "VOSI is not an access mode"
    raw = TAPService(regtap).run_sync(
        "SELECT ivoid, access_url FROM rr.capability NATURAL JOIN rr.interface "
        "WHERE standard_id = 'ivo://ivoa.net/std/uws#rest-1.1' AND intf_role = 'std'")
    assert [(r["ivoid"], r["access_url"]) for r in raw] == [
        (UWS_IVOID, "https://vo.example.org/innerspace/jobs")]


def test_other_constraints(regtap: str) -> None:
    found = registry.search(ivoid="ivo://EXAMPLE.org/survey/TAP")
    assert ivoids(found) == {TAP_IVOID}
    tap = found[0]
    assert tap.res_title == "Example Deep Sky Survey TAP service"
    assert [c.strip() for c in tap.creators] == ["Lovelace, A.", "Example Survey Team"]
    assert tap.content_levels == ["research", "university"]
    assert tap.waveband == ["optical", "infrared"]
    assert tap.region_of_regard == pytest.approx(0.0003)
    assert sorted(tap.access_modes()) == ["tap", "web"]
    assert tap.get_contact() == "Example helpdesk (+44 131 000 0000) <help@example.org>"
    assert tap.get_alt_identifiers() == ["doi:10.5072/edss-dr3",
                                         "https://orcid.org/0000-0002-1825-0097"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvo: 'timestamp' is no VOSI datatype
        assert sorted(tap.get_tables()) == ["edss.Epoch", "edss.Source"]
    assert ivoids(registry.search(author="Lovelace%")) == {TAP_IVOID}
    assert ivoids(registry.search(datamodel="regtap")) == {REGISTRY_IVOID}
    assert ivoids(registry.search(datamodel="obscore")) == {TAP_IVOID}
    assert ivoids(registry.search(ucd="phot.mag%")) == {TAP_IVOID}
    assert ivoids(registry.search(keywords="survey", servicetype="sia2")) == {SIA_IVOID}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvo warns about the truncation
        assert len(registry.search(servicetype="tap", maxrec=1)) == 1


def test_raw_adql(regtap: str) -> None:
    service = TAPService(regtap)
    joined = service.run_sync(
        "SELECT ivoid, res_title, ivo_string_agg(COALESCE(standard_id, ''), '|') AS ids "
        "FROM rr.resource NATURAL LEFT OUTER JOIN rr.capability "
        "WHERE 1 = ivo_hashlist_has(waveband, 'infrared') GROUP BY ivoid, res_title "
        "ORDER BY ivoid").to_table()
    assert list(joined["ivoid"]) == [SIA_IVOID, TAP_IVOID]
    assert sorted(joined["ids"][0].split("|")) == ["ivo://ivoa.net/std/sia#query-2.0",
                                                   "ivo://ivoa.net/std/sia#query-aux-2.0"]
    subquery = service.run_sync(
        "SELECT r.ivoid, r.short_name FROM rr.resource AS r WHERE r.ivoid IN "
        "(SELECT ivoid FROM rr.res_subject WHERE res_subject ILIKE '%ASTRONOMY%') "
        "AND EXISTS (SELECT 1 FROM rr.capability AS c WHERE c.ivoid = r.ivoid) "
        "ORDER BY r.ivoid")
    assert [(r["ivoid"], r["short_name"]) for r in subquery] == [
        (SIA_IVOID, "EDSS SIA2"), (TAP_IVOID, "EDSS TAP")]
    words = service.run_sync(
        "SELECT ivoid FROM rr.resource WHERE 1 = ivo_hasword(res_description, 'Quasar') "
        "OR 1 = ivo_nocasematch(res_title, '%EXECUTION%') ORDER BY ivoid")
    assert [r["ivoid"] for r in words] == [UWS_IVOID, TAP_IVOID]
    counts = service.run_sync(
        "SELECT base_role, COUNT(*) AS n FROM rr.res_role GROUP BY base_role "
        "ORDER BY base_role").to_table()
    assert dict(zip(counts["base_role"], counts["n"], strict=True)) == {
        "contact": 7, "contributor": 1, "creator": 2, "publisher": 7}
    regtap_services = service.run_sync(
        "SELECT access_url FROM rr.interface NATURAL JOIN rr.capability "
        "NATURAL JOIN rr.res_detail WHERE standard_id LIKE 'ivo://ivoa.net/std/tap%' "
        "AND intf_role = 'std' AND detail_xpath = '/capability/dataModel/@ivo-id' "
        "AND 1 = ivo_nocasematch(detail_value, 'ivo://ivoa.net/std/regtap#1.%') "
        "AND authenticated_only = 0")
    assert [r["access_url"] for r in regtap_services] == ["https://vo.example.org/registry/tap"]
    top = service.run_sync("SELECT TOP 2 ivoid FROM rr.resource ORDER BY ivoid DESC")
    assert [r["ivoid"] for r in top] == [TAP_IVOID, SIA_IVOID]
    schema = service.run_sync("SELECT table_name FROM TAP_SCHEMA.tables "
                              "WHERE schema_name = 'rr' ORDER BY table_name")
    assert {r["table_name"] for r in schema} == {f"rr.{t}" for t in RR_TABLES}


def test_topcat_style_query(regtap: str) -> None:
    """The shape of TOPCAT's registry search: joins to derived tables, OR of UDFs."""
    result = TAPService(regtap).run_sync(
        "SELECT ivoid, short_name, res_title, base_role, role_name, email, intf_index, "
        "access_url, standard_id, cap_type, std_version, res_subject "
        "FROM rr.resource AS res NATURAL JOIN rr.interface NATURAL JOIN rr.capability "
        "NATURAL LEFT OUTER JOIN (SELECT ivoid, role_name, email, base_role FROM rr.res_role "
        "WHERE base_role = 'contact') AS role NATURAL LEFT OUTER JOIN rr.res_subject "
        "WHERE (standard_id = 'ivo://ivoa.net/std/tap' OR standard_id LIKE "
        "'ivo://ivoa.net/std/tap#%') AND intf_type = 'vs:paramhttp' AND "
        "(1 = ivo_hasword(res_description, 'quasar') OR 1 = ivo_hasword(res_title, 'quasar') "
        "OR 1 = ivo_nocasematch(res_subject, '%quasar%')) ORDER BY res_subject").to_table()
    assert set(result["ivoid"]) == {TAP_IVOID}
    assert sorted(result["res_subject"]) == ["Stellar astronomy", "gamma-ray bursts", "surveys"]
    assert set(result["email"]) == {"help@example.org"}
    assert set(result["access_url"]) == {"https://vo.example.org/survey/tap"}


def test_maxrec_overflow(regtap: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvo may warn about the truncation
        result = TAPService(regtap).run_sync("SELECT ivoid FROM rr.resource", maxrec=3)
    assert len(result) == 3
    assert result.query_status == "OVERFLOW"
    exact = TAPService(regtap).run_sync("SELECT TOP 3 ivoid FROM rr.resource", maxrec=3)
    assert exact.query_status == "OK", "TOP is no overflow"


@pytest.mark.parametrize(("query", "message"), [
    ("SELECT ivoid FROM rr.resource WHERE", "syntax error"),
    ("SELECT * FROM rr.missing", "unknown table rr.missing"),
    ("SELECT no_such_column FROM rr.resource", "unknown column no_such_column"),
    ("SELECT ivoid FROM rr.resource NATURAL JOIN rr.capability WHERE cap_index = ivoid "
     "AND resource.nothing = 1", "unknown column resource.nothing"),
    ("DELETE FROM rr.resource", "only SELECT"),
    ("DROP TABLE rr.resource", "only SELECT"),
    ("INSERT INTO rr.resource (ivoid) VALUES ('ivo://evil')", "only SELECT"),
    ("SELECT ivoid FROM rr.resource; DROP TABLE rr.resource", "only one statement"),
])
def test_query_errors(regtap: str, index: RegTAPIndex, query: str, message: str) -> None:
    before = dump(index)
    with pytest.raises(DALQueryError, match=message):
        TAPService(regtap).run_sync(query)
    assert dump(index) == before


# -- the TAP protocol over plain HTTP ------------------------------------------------------

def votable_status(response: httpx.Response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    infos = root.findall(f"{VOTABLE_NS}RESOURCE/{VOTABLE_NS}INFO[@name='QUERY_STATUS']")
    return infos[-1].get("value"), (infos[-1].text or "")


def test_error_documents(http: httpx.Client, index: RegTAPIndex) -> None:
    before = dump(index)
    bad = [
        {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "DELETE FROM rr.resource"},
        {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT \x00 FROM rr.resource"},
        {"REQUEST": "doQuery", "LANG": "ADQL"},
        {"REQUEST": "doQuery", "LANG": "SQL", "QUERY": "SELECT ivoid FROM rr.resource"},
        {"REQUEST": "getCapabilities", "QUERY": "SELECT ivoid FROM rr.resource"},
        {"LANG": "ADQL", "QUERY": "SELECT ivoid FROM rr.resource", "MAXREC": "many"},
        {"LANG": "ADQL", "QUERY": "SELECT ivoid FROM rr.resource", "MAXREC": "-1"},
        {"LANG": "ADQL", "QUERY": "SELECT ivoid FROM rr.resource", "FORMAT": "fits"},
        {"LANG": "ADQL", "QUERY": "SELECT ivoid FROM rr.resource; PRAGMA writable_schema=1"},
        {"LANG": "ADQL", "QUERY": "SELECT " + "(" * 5000 + "1" + ")" * 5000},
    ]
    for parameters in bad:
        for response in (http.get("/sync", params=parameters),
                         http.post("/sync", data=parameters)):
            assert response.status_code == 400, (parameters, response.text)
            assert response.headers["content-type"].startswith("application/x-votable+xml")
            status, message = votable_status(response)
            assert status == "ERROR" and message, parameters
    twice = http.get("/sync?LANG=ADQL&QUERY=SELECT%201%20FROM%20rr.resource&QUERY=SELECT%202")
    assert twice.status_code == 400 and "more than once" in votable_status(twice)[1]
    garbage = http.post("/sync", content=b"QUERY=\xff\xfe&LANG=ADQL",
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert garbage.status_code == 400
    assert dump(index) == before


def test_parameters_and_formats(http: httpx.Client) -> None:
    query = f"SELECT ivoid, region_of_regard, cap_index FROM rr.resource NATURAL JOIN " \
            f"rr.capability WHERE ivoid = '{TAP_IVOID}' ORDER BY cap_index"
    lower = http.post("/sync", data={"request": "doQuery", "lang": "adql-2.0", "query": query,
                                     "responseformat": "votable/td"})
    assert lower.status_code == 200, lower.text
    assert votable_status(lower)[0] == "OK"
    assert b"<TABLEDATA>" in lower.content
    for fmt in ("votable/b", "votable/b2", "application/x-votable+xml;serialization=BINARY"):
        binary = http.get("/sync", params={"LANG": "ADQL", "QUERY": query, "FORMAT": fmt})
        assert binary.status_code == 200 and b"<STREAM" in binary.content, fmt
        table = pyvo.dal.DALResults(parse_votable(io.BytesIO(binary.content))).to_table()
        assert list(table["cap_index"]) == [0, 1, 2] and table["ivoid"][0] == TAP_IVOID
    csv = http.get("/sync", params={"LANG": "ADQL", "QUERY": query, "FORMAT": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == ["ivoid,region_of_regard,cap_index",
                                     f"{TAP_IVOID},0.0003,0", f"{TAP_IVOID},0.0003,1",
                                     f"{TAP_IVOID},0.0003,2"]
    overflow = http.get("/sync", params={"LANG": "ADQL", "MAXREC": "1",
                                         "QUERY": "SELECT ivoid FROM rr.resource"})
    root = etree.fromstring(overflow.content)
    resource = root.find(f"{VOTABLE_NS}RESOURCE")
    tags = [(etree.QName(e).localname, e.get("value")) for e in resource]
    assert tags[0] == ("INFO", "OK") and tags[-2:] == [("TABLE", None), ("INFO", "OVERFLOW")]
    typed = http.get("/sync", params={"LANG": "ADQL", "QUERY": query})
    fields = {f.get("name"): f for f in etree.fromstring(typed.content).iter(
        f"{VOTABLE_NS}FIELD")}
    assert fields["region_of_regard"].get("datatype") == "double"
    assert fields["region_of_regard"].get("unit") == "deg"
    assert fields["cap_index"].get("datatype") == "long"
    assert fields["ivoid"].get("datatype") == "char"


# Whatever the length of a row, the VOTable writer stays within its buffers. astropy's C
# TABLEDATA writer wrote one byte past its row buffer for rows of exactly 256, 512, ... bytes;
# that corrupted the heap silently and crashed the service later, at random. Python's debug
# allocator (PYTHONMALLOC=debug) aborts at once on such an overrun, hence the subprocess.
ROW_LENGTHS_SCRIPT = """
import re
from innerspace.registry.regtap import QueryResult, votable_document
lengths = set()
for n in range(150, 700):
    body = votable_document(QueryResult(["ivoid"], [("x" * n,)], False, "q"), "q")
    lengths.add(len(re.search(rb"\\n( *<TR>.*?</TR>\\n)", body, re.S).group(1)))
assert {256, 512} <= lengths, sorted(lengths)
"""


def test_votable_rows_of_any_length_keep_memory_intact() -> None:
    done = subprocess.run([sys.executable, "-c", ROW_LENGTHS_SCRIPT], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONMALLOC": "debug"})
    assert done.returncode == 0, done.stderr[-3000:]


def test_query_time_limit() -> None:
    slow = RegTAPIndex(timeout=0.2)
    slow.load(sample_records())
    started = time.monotonic()
    with pytest.raises(RegTAPError, match="longer than the limit"):
        slow.query("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) "
                   "SELECT COUNT(*) FROM c")
    assert time.monotonic() - started < 5


def test_reload_while_serving(http: httpx.Client, index: RegTAPIndex) -> None:
    query = {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM rr.resource"}
    try:
        index.load([r for r in sample_records() if r.ivoid in (TAP_IVOID, SIA_IVOID)])
        assert b"<TD>2</TD>" in http.get("/sync", params=query).content
    finally:
        index.load(sample_records())
    assert b"<TD>7</TD>" in http.get("/sync", params=query).content


def test_queries_during_loads_see_whole_contents() -> None:
    """Loads swap whole databases: concurrent queries see the old or the new content, never a
    missing or half-filled one."""
    from concurrent.futures import ThreadPoolExecutor

    index = RegTAPIndex()
    full = sample_records()
    part = [r for r in full if r.ivoid in (TAP_IVOID, SIA_IVOID)]
    index.load(full)
    stop = threading.Event()

    def count() -> set[int]:
        seen = set()
        while not stop.is_set():
            seen.add(index.query("SELECT COUNT(*) FROM rr.resource NATURAL JOIN "
                                 "rr.capability").rows[0][0])
        return seen

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(count) for _ in range(4)]
        for step in range(10):
            index.load(part if step % 2 == 0 else full)
        stop.set()
        seen = set().union(*(f.result() for f in futures))
    assert seen <= {11, 5} and seen, seen


# -- VOSI ----------------------------------------------------------------------------------

def test_capabilities(http: httpx.Client, live: LiveRegTAP, xml_schemas: Any) -> None:
    response = http.get("/capabilities")
    assert response.status_code == 200
    assert schema_errors(xml_schemas, response.content) == []
    root = etree.fromstring(response.content)
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    tap = root.find("capability[@standardID='ivo://ivoa.net/std/TAP']")
    assert tap.get(xsi) == "tr:TableAccess"
    assert tap.findtext("interface/accessURL") == live.url
    assert tap.find("dataModel").get("ivo-id") == "ivo://ivoa.net/std/RegTAP#1.1"
    assert [v.text for v in tap.findall("language/version")] == ["2.0", "2.1"]
    udfs = [f.findtext("form") for f in tap.findall(
        "language/languageFeatures[@type='ivo://ivoa.net/std/TAPRegExt#features-udf']/feature")]
    for name in ("ivo_hasword", "ivo_nocasematch", "ivo_hashlist_has", "ivo_string_agg"):
        assert any(form.startswith(f"{name}(") for form in udfs), name
    assert tap.find("outputFormat/mime").text.startswith("application/x-votable+xml")
    standards = {c.get("standardID"): c.findtext("interface/accessURL")
                 for c in root.findall("capability")}
    assert standards["ivo://ivoa.net/std/VOSI#capabilities"] == f"{live.url}/capabilities"
    assert standards["ivo://ivoa.net/std/VOSI#availability"] == f"{live.url}/availability"
    adql = TAPService(live.url).get_tap_capability().get_adql()
    assert adql.get_feature("ivo://ivoa.net/std/TAPRegExt#features-adql-sets", "UNION")
    assert adql.get_feature("ivo://ivoa.net/std/TAPRegExt#features-adql-string", "ILIKE")


def test_availability(http: httpx.Client, xml_schemas: Any) -> None:
    response = http.get("/availability")
    root = xml_schemas.validate(response.content)
    ns = "{http://www.ivoa.net/xml/VOSIAvailability/v1.0}"
    assert root.findtext(f"{ns}available") == "true"
    assert "7 resources" in root.findtext(f"{ns}note")


def test_tables(http: httpx.Client, live: LiveRegTAP, xml_schemas: Any) -> None:
    response = http.get("/tables")
    driver = (b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
              b'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
              b'targetNamespace="http://www.ivoa.net/xml/VOSITables/v1.0">'
              b'<xs:import namespace="http://www.ivoa.net/xml/VODataService/v1.1" '
              b'schemaLocation="http://www.ivoa.net/xml/VODataService/v1.1"/>'
              b'<xs:element name="tableset" type="vs:TableSet"/></xs:schema>')
    schema = etree.XMLSchema(etree.XML(driver, xml_schemas.parser))
    root = etree.fromstring(response.content, xml_schemas.parser)
    assert schema.validate(root), schema.error_log
    names = {t.findtext("name") for t in root.iter("table")}
    assert {f"rr.{t}" for t in RR_TABLES} <= names
    assert root.find("schema").findtext("utype") == "ivo://ivoa.net/std/RegTAP#1.1"
    tables = TAPService(live.url).tables
    assert "rr.resource" in list(tables.keys())
    assert "region_of_regard" in [c.name for c in tables["rr.resource"].columns]


def test_no_index_is_an_error_not_a_crash() -> None:
    with LiveRegTAP(None) as bare, httpx.Client(base_url=bare.url) as client:
        response = client.get("/sync", params={"QUERY": "SELECT 1"})
        assert response.status_code == 400
        assert "not available" in votable_status(response)[1]
        assert client.get("/capabilities").status_code == 503
        assert b"<available>false</available>" in client.get("/availability").content


def test_this_data_centres_own_records() -> None:
    """The records innerspace publishes about itself load, and pyvo-style queries find the
    execution service, the apps it serves and the inner APIs."""
    from innerspace.config import load_settings
    from innerspace.registry.resources import build_records
    from tests.test_registry_records import BASE, DATACENTRE, app

    dc = load_settings(datacentre=DATACENTRE).datacentre
    built = build_records(dc, BASE, [app("hello"), app("xmatch")])
    own = RegTAPIndex()
    report = own.load([Record(b.ivoid, etree.tostring(b.element), UPDATED) for b in built])
    assert report.loaded == len(built) and not report.skipped
    uws = rows(own, "SELECT ivoid, access_url FROM rr.capability NATURAL JOIN rr.interface "
                    "WHERE standard_id = 'ivo://ivoa.net/std/uws#rest-1.1'")
    assert uws == [("ivo://wfau.example/innerspace/uws", f"{BASE}/jobs")]
    served = rows(own, "SELECT ivoid FROM rr.relationship WHERE relationship_type = "
                       "'isservedby' AND related_id = 'ivo://wfau.example/innerspace/uws' "
                       "ORDER BY ivoid")
    assert served == [("ivo://wfau.example/innerspace/apps/hello",),
                      ("ivo://wfau.example/innerspace/apps/xmatch",),
                      ("ivo://wfau.example/innerspace/inner-space",)]
    assert rows(own, "SELECT COUNT(*) FROM rr.res_detail WHERE detail_xpath = "
                     "'/managedAuthority' AND detail_value = 'wfau.example'") == [(1,)]
