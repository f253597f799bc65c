"""The TAP protocol of the RegTAP service over plain HTTP (error documents, parameters,
output formats) and its VOSI resources (capabilities, availability, tables)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from astropy.io.votable import parse as parse_votable
from lxml import etree

from innerspace.registry.regtap import RegTAPIndex
from tests.support.regtap_live import (
    RR_TABLES,
    VOTABLE_NS,
    LiveRegTAP,
    dump,
    schema_errors,
    votable_status,
)
from tests.support.regtap_samples import TAP_IVOID
from tests.support.xmlcheck import child

pyvo = pytest.importorskip("pyvo")
from pyvo.dal import TAPService  # noqa: E402


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
    resource = child(root, f"{VOTABLE_NS}RESOURCE")
    tags = [(etree.QName(e).localname, e.get("value")) for e in resource]
    assert tags[0] == ("INFO", "OK") and tags[-2:] == [("TABLE", None), ("INFO", "OVERFLOW")]
    typed = http.get("/sync", params={"LANG": "ADQL", "QUERY": query})
    fields = {f.get("name"): f for f in etree.fromstring(typed.content).iter(
        f"{VOTABLE_NS}FIELD")}
    assert fields["region_of_regard"].get("datatype") == "double"
    assert fields["region_of_regard"].get("unit") == "deg"
    # Typed as TAP_SCHEMA declares the column it comes from (RegTAP 1.1: SMALLINT).
    assert fields["cap_index"].get("datatype") == "short"
    assert fields["ivoid"].get("datatype") == "char"


# Whatever the length of a row, the VOTable writer stays within its buffers. astropy's C
# TABLEDATA writer wrote one byte past its row buffer for rows of exactly 256, 512, ... bytes;
# that corrupted the heap silently and crashed the service later, at random. Python's debug
# allocator (PYTHONMALLOC=debug) aborts at once on such an overrun, hence the subprocess.


# -- VOSI ----------------------------------------------------------------------------------

def test_capabilities(http: httpx.Client, live: LiveRegTAP, xml_schemas: Any) -> None:
    response = http.get("/capabilities")
    assert response.status_code == 200
    assert schema_errors(xml_schemas, response.content) == []
    root = etree.fromstring(response.content)
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    tap = child(root, "capability[@standardID='ivo://ivoa.net/std/TAP']")
    assert tap.get(xsi) == "tr:TableAccess"
    assert tap.findtext("interface/accessURL") == live.url
    assert child(tap, "dataModel").get("ivo-id") == "ivo://ivoa.net/std/RegTAP#1.1"
    assert [v.text for v in tap.findall("language/version")] == ["2.0", "2.1"]
    udfs = [f.findtext("form") for f in tap.findall(
        "language/languageFeatures[@type='ivo://ivoa.net/std/TAPRegExt#features-udf']/feature")]
    for name in ("ivo_hasword", "ivo_nocasematch", "ivo_hashlist_has", "ivo_string_agg"):
        assert any((form or "").startswith(f"{name}(") for form in udfs), name
    assert child(tap, "outputFormat/mime").text.startswith("application/x-votable+xml")
    standards = {c.get("standardID"): c.findtext("interface/accessURL")
                 for c in root.findall("capability")}
    assert standards["ivo://ivoa.net/std/VOSI#capabilities"] == f"{live.url}/capabilities"
    assert standards["ivo://ivoa.net/std/VOSI#availability"] == f"{live.url}/availability"
    adql = TAPService(live.url).get_tap_capability().get_adql()
    union = adql.get_feature("ivo://ivoa.net/std/TAPRegExt#features-adql-sets", "UNION")
    ilike = adql.get_feature("ivo://ivoa.net/std/TAPRegExt#features-adql-string", "ILIKE")
    assert (union.form, ilike.form) == ("UNION", "ILIKE")


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
        assert response.status_code == 503, "the service's trouble, not the client's"
        assert "not available" in votable_status(response)[1]
        assert client.get("/capabilities").status_code == 503
        assert b"<available>false</available>" in client.get("/availability").content

