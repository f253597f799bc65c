"""The VOSI documents of the RegTAP service: its capabilities (a TAPRegExt TableAccess
capability declaring the RegTAP 1.1 data model, ADQL with its features, the output formats
and limits; and the VOSI endpoints), its tables (rr and TAP_SCHEMA) and its availability."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from lxml import etree
from lxml.builder import ElementMaker
from vo_models.vosi.availability.models import Availability

from innerspace import vocabulary
from innerspace.registry.records import TR_NS, VR_NS, VS_NS, XSI_NS, XSI_TYPE
from innerspace.registry.regtap.index import RegTAPIndex
from innerspace.registry.regtap.results import OUTPUT_FORMATS
from innerspace.registry.regtap.rr_tables import Column, Table
from innerspace.registry.regtap.schema import (
    DISPLAY_NAMES,
    SCHEMAS,
    VOTABLE_TYPES,
    qualified,
)

VOSI_CAP_NS = "http://www.ivoa.net/xml/VOSICapabilities/v1.0"
VOSI_TABLES_NS = "http://www.ivoa.net/xml/VOSITables/v1.0"

# TAPRegExt language feature type -> (form, description) of each feature supported. COALESCE
# runs too, but is not declared: ADQL 2.1 declares it under #features-adql-conditional, a key
# the TAPRegExt 1.0 vocabulary lacks and that validators of before ADQL 2.1 (Debian 12's
# taplint) refuse as an unknown standard key; the language description names it instead.
ADQL_FEATURES: dict[str, list[tuple[str, str | None]]] = {
    "ivo://ivoa.net/std/TAPRegExt#features-udf": [
        ("ivo_hasword(haystack VARCHAR(*), needle VARCHAR(*)) -> INTEGER",
         "1 if every word of needle is a word of haystack, ignoring case; else 0."),
        ("ivo_nocasematch(value VARCHAR(*), pat VARCHAR(*)) -> INTEGER",
         "1 if pat matches value as with LIKE but ignoring case; else 0."),
        ("ivo_hashlist_has(hashlist VARCHAR(*), item VARCHAR(*)) -> INTEGER",
         "1 if item is one of the #-separated words of hashlist, ignoring case; else 0."),
        ("ivo_string_agg(expr VARCHAR(*), delim VARCHAR(*)) -> VARCHAR(*)",
         "Aggregate: the non-NULL values of expr in a group joined with delim."),
        ("ivo_interval_overlaps(l1 NUMERIC, h1 NUMERIC, l2 NUMERIC, h2 NUMERIC) -> INTEGER",
         "1 if the intervals [l1, h1] and [l2, h2] overlap; else 0."),
    ],
    "ivo://ivoa.net/std/TAPRegExt#features-adql-sets": [
        ("UNION", None), ("EXCEPT", None), ("INTERSECT", None)],
    "ivo://ivoa.net/std/TAPRegExt#features-adql-string": [
        ("LOWER", None), ("UPPER", None), ("ILIKE", None)],
    "ivo://ivoa.net/std/TAPRegExt#features-adql-type": [("CAST", None)],
    "ivo://ivoa.net/std/TAPRegExt#features-adql-common-table": [("WITH", None)],
    "ivo://ivoa.net/std/TAPRegExt#features-adql-offset": [("OFFSET", None)],
}


def capabilities_document(tap_url: str, index: RegTAPIndex,
                          security: Sequence[str | None] = (None,)) -> bytes:
    """VOSI capabilities: the TAP capability (TAPRegExt, data model RegTAP 1.1) and VOSI.
    The TAP capability has an interface per security method in `security` (None:
    anonymous); the VOSI endpoints are anonymous."""
    e = ElementMaker(nsmap={"vosi": VOSI_CAP_NS, "vr": VR_NS, "vs": VS_NS, "tr": TR_NS,
                            "xsi": XSI_NS})

    def interface(url: str, use: str, method: str | None = None,
                  **attributes: str) -> etree._Element:
        element: etree._Element = e.interface(e.accessURL(url, use=use), role="std",
                                              **attributes)
        if method:
            element.append(e.securityMethod(standardID=method))
        element.set(XSI_TYPE, "vs:ParamHTTP")
        return element

    tap = e.capability(standardID=vocabulary.TAP)
    tap.set(XSI_TYPE, "tr:TableAccess")
    tap.append(e.description("RegTAP 1.1: ADQL queries over the resources of this registry, "
                             "synchronous (/sync) and asynchronous (/async, UWS 1.1)"))
    for method in security:
        tap.append(interface(tap_url, "base", method, version="1.1"))
    tap.append(e.dataModel("Registry 1.1", **{"ivo-id": vocabulary.REGTAP_DATA_MODEL}))
    language = e.language(e.name("ADQL"), e.version("2.0", **{"ivo-id": vocabulary.ADQL_2_0}),
                          e.version("2.1", **{"ivo-id": vocabulary.ADQL_2_1}),
                          e.description("ADQL 2.0 with the RegTAP functions and the ADQL 2.1 "
                                        "string, set, COALESCE, CAST, WITH and OFFSET "
                                        "features; no geometry"))
    for kind, features in ADQL_FEATURES.items():
        group = e.languageFeatures(type=kind)
        for form, description in features:
            feature = e.feature(e.form(form))
            if description:
                feature.append(e.description(description))
            group.append(feature)
        language.append(group)
    tap.append(language)
    for known in OUTPUT_FORMATS:
        output = e.outputFormat(e.mime(known.mime), *[e.alias(a) for a in known.aliases])
        if known.ivo_id:
            output.set("ivo-id", known.ivo_id)
        tap.append(output)
    tap.append(e.executionDuration(e.hard(str(int(index.timeout)))))
    tap.append(e.outputLimit(e.default(str(index.default_maxrec), unit="row"),
                             e.hard(str(index.hard_maxrec), unit="row")))
    root = e.capabilities(tap)
    root.tag = f"{{{VOSI_CAP_NS}}}capabilities"
    for standard, path in ((vocabulary.VOSI_CAPABILITIES, "capabilities"),
                           (vocabulary.VOSI_AVAILABILITY, "availability"),
                           (vocabulary.VOSI_TABLES, "tables")):
        root.append(e.capability(interface(f"{tap_url}/{path}", "full"), standardID=standard))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@cache
def tables_document() -> bytes:
    """VOSI tables: the rr and TAP_SCHEMA schemas with every table, column and foreign key,
    as TAP_SCHEMA describes them (column names delimited where TAP_SCHEMA delimits them)."""
    nsmap = {"vosi": VOSI_TABLES_NS, "vs": VS_NS, "xsi": XSI_NS}
    e = ElementMaker(nsmap=nsmap)
    root = etree.Element(f"{{{VOSI_TABLES_NS}}}tableset", nsmap=nsmap)
    for schema, (description, utype, tables) in SCHEMAS.items():
        element = e.schema(e.name(DISPLAY_NAMES[schema]), e.description(description))
        if utype:
            element.append(e.utype(utype))
        for table in tables:
            table_element = e.table(e.name(qualified(schema, table)),
                                    e.description(table.description), type="table")
            if table.utype:
                table_element.append(e.utype(table.utype))
            for column in table.columns:
                table_element.append(_column(e, table, column))
            for key in table.foreign_keys:
                target = next(t for t in tables if t.name == key.target)
                foreign = e.foreignKey(e.targetTable(qualified(schema, target)))
                for source, destination in key.columns:
                    foreign.append(e.fkColumn(e.fromColumn(source),
                                              e.targetColumn(destination)))
                table_element.append(foreign)
            element.append(table_element)
        root.append(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _column(e: ElementMaker, table: Table, column: Column) -> etree._Element:
    """One vs:column, with the flags TAP_SCHEMA's indexed and principal columns give."""
    datatype, arraysize, xtype = VOTABLE_TYPES[column.type]
    item: etree._Element = e.column(e.name(column.adql_name),
                                    e.description(column.description))
    if column.std:
        item.set("std", "true")
    if column.unit:
        item.append(e.unit(column.unit))
    if column.utype:
        item.append(e.utype(column.utype))
    dt = e.dataType(datatype)
    dt.set(XSI_TYPE, "vs:VOTableType")
    if arraysize:
        dt.set("arraysize", arraysize)
    if xtype:
        dt.set("extendedType", xtype)
    item.append(dt)
    if column.name in table.indexed:
        item.append(e.flag("indexed"))
    if column.name in table.primary_key:
        item.append(e.flag("primary"))
    if column.principal:
        item.append(e.flag("principal"))
    return item


def availability_document(index: RegTAPIndex | None) -> bytes:
    """VOSI availability: available with the number of resources held; unavailable when
    this service has no index."""
    if index is None:
        document = Availability(available=False,
                                note=["the registry search is not available on this service"])
    else:
        document = Availability(available=True, up_since=index.started,
                                note=[f"the registry holds {index.count()} resources"])
    xml = document.to_xml(xml_declaration=True, encoding="UTF-8")
    return xml if isinstance(xml, bytes) else xml.encode()
