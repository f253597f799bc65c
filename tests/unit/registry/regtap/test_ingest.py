"""RegTAP ingestion: VOResource records become rows of the rr tables as RegTAP 1.1 says
(lower-cased identifiers, canonical QNames, hash lists, res_detail xpaths, tablesets), and
the records innerspace publishes about itself load and answer the planner's questions."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from innerspace.config import load_settings
from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.resources import build_records
from tests.support.apps import example_image
from tests.support.datacentres import WFAU
from tests.support.datacentres import WFAU_BASE as BASE
from tests.support.regtap_live import rows, schema_errors
from tests.support.regtap_samples import (
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


def test_this_data_centres_own_records() -> None:
    """The records innerspace publishes about itself load, and pyvo-style queries find the
    execution service, the apps it serves and the inner APIs."""
    dc = load_settings(datacentre=WFAU).datacentre
    built = build_records(dc, BASE, [example_image("hello"), example_image("xmatch")])
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
    # The inner space's tableset: a schema per inner API, a table per collection it exposes.
    inner = rows(own, "SELECT s.schema_name, s.schema_utype, t.table_name "
                      "FROM rr.res_schema AS s LEFT OUTER JOIN rr.res_table AS t "
                      "ON t.ivoid = s.ivoid AND t.schema_index = s.schema_index "
                      "WHERE s.ivoid = 'ivo://wfau.example/innerspace/inner-space' "
                      "ORDER BY s.schema_index")
    assert inner == [("tap", "ivo://ivoa.net/std/tap", "tap.ukidss"),
                     ("ukidss-images", "ivo://innerspace.org/std/inner-api#posix-collection",
                      "ukidss-images.ukidss")]
