"""A RegTAP 1.1 searchable registry: the `rr` tables in SQLite, filled from VOResource
records, queried with ADQL through a TAP 1.1 sync endpoint (plus VOSI capabilities,
availability and tables), so that pyvo.registry and TOPCAT can search it.

- `RegTAPIndex` holds the tables in SQLite (a file or memory). `load()` rebuilds them from
  `Record`s in a fresh database and swaps it in, so queries running meanwhile see either the
  old or the new content, never half of each. Queries run on their own read-only connection
  (query_only, an authorizer allowing reads of the known tables only, a time limit).
- `router` is the HTTP side, mounted at /registry/tap: /sync, /capabilities, /availability
  and /tables. Every failed query answers a TAP error VOTable with status 400.

The ingestion follows RegTAP 1.1 (with its Erratum 1: table names keep their case): strings
are stripped and empty ones become NULL, identifiers and enumerated values are lower-cased,
QNames get the canonical prefixes, hash-joined lists, res_detail xpaths for capability
extensions (never interface access URLs), deprecated vocabulary terms translated.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from astropy.io.votable import writeto
from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from lxml import etree
from lxml.builder import ElementMaker
from vo_models.vosi.availability.models import Availability

from innerspace.registry.adql import SQLITE_FUNCTIONS, ADQLError, register_functions, translate
from innerspace.registry.records import RI_NS, VG_NS, VR_NS, VS_NS, XSI_NS, Record, safe_parser
from innerspace.uws.xml import NOT_XML

log = logging.getLogger("innerspace.regtap")

REGTAP_DM = "ivo://ivoa.net/std/RegTAP#1.1"
SCHEMA_VERSION = 1  # PRAGMA user_version of index files; another value means rebuild
TR_NS = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
VOSI_CAP_NS = "http://www.ivoa.net/xml/VOSICapabilities/v1.0"
VOSI_TABLES_NS = "http://www.ivoa.net/xml/VOSITables/v1.0"
XSI_TYPE = f"{{{XSI_NS}}}type"
VOTABLE_TYPE = "application/x-votable+xml"


# -- the schema ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One column: RegTAP type (string, integer, real or timestamp) and TAP metadata."""

    name: str
    type: str
    description: str
    utype: str | None = None
    unit: str | None = None
    principal: bool = False


@dataclass(frozen=True)
class Table:
    name: str  # unqualified, e.g. "resource"
    description: str
    utype: str | None
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    references: tuple[str, tuple[str, ...]] | None = None  # target table, columns


def _cols(*specs: tuple[str, ...]) -> tuple[Column, ...]:
    columns = []
    for spec in specs:
        name, kind, utype, description, *unit = spec
        columns.append(Column(name, kind, description, f"xpath:{utype}" if utype else None,
                              unit[0] if unit else None, principal=name in _PRINCIPAL))
    return tuple(columns)


_PRINCIPAL = {"ivoid", "res_type", "short_name", "res_title", "standard_id", "access_url",
              "intf_type", "intf_role", "res_subject", "role_name", "base_role",
              "detail_xpath", "detail_value", "table_name", "name", "ucd", "cap_type"}

_PARENT = ("ivoid", "string", "/identifier", "The parent resource (lower-cased IVOA id).")
_DATATYPE_COLUMNS = (
    ("ucd", "string", "ucd", "A UCD describing the content (lower-cased)."),
    ("unit", "string", "unit", "The unit of the values."),
    ("utype", "string", "utype", "A data model role of the values (lower-cased)."),
    ("std", "integer", "@std", "1 if the meaning is defined by a standard, 0 if not."),
    ("datatype", "string", "dataType", "The type of the values (lower-cased)."),
    ("extended_schema", "string", "dataType/@extendedSchema",
     "The schema of extended_type."),
    ("extended_type", "string", "dataType/@extendedType", "A custom type of the values."),
    ("arraysize", "string", "dataType/@arraysize", "The VOTable array shape (4, *, 5x*, ...)."),
    ("delim", "string", "dataType/@delim", "The delimiter between array elements."),
)

RR_TABLES: tuple[Table, ...] = (
    Table("resource", "The resources (services, data collections, organisations, ...) in "
          "this registry.", "xpath:/", _cols(
              ("ivoid", "string", "identifier", "The IVOA identifier of the resource "
               "(lower-cased)."),
              ("res_type", "string", "@xsi:type", "The resource type (vs:catalogservice, "
               "vr:organisation, ...)."),
              ("created", "timestamp", "@created", "When the record was created (UTC)."),
              ("short_name", "string", "shortName", "A short name for the resource."),
              ("res_title", "string", "title", "The full name of the resource."),
              ("updated", "timestamp", "@updated", "When the record was last updated (UTC)."),
              ("content_level", "string", "content/contentLevel",
               "Intended audiences, #-separated (lower-cased)."),
              ("res_description", "string", "content/description",
               "What the resource is and does."),
              ("reference_url", "string", "content/referenceURL",
               "A human-readable page about the resource."),
              ("creator_seq", "string", "curation/creator/name",
               "The creators in document order, separated by '; '."),
              ("content_type", "string", "content/type",
               "Kinds of content, #-separated (lower-cased)."),
              ("source_format", "string", "content/source/@format",
               "The format of source_value, e.g. bibcode (lower-cased)."),
              ("source_value", "string", "content/source",
               "The bibliographic source of the resource."),
              ("res_version", "string", "curation/version", "The version of the resource."),
              ("region_of_regard", "real", "coverage/regionOfRegard",
               "The positional blur of queries against the resource.", "deg"),
              ("waveband", "string", "coverage/waveband",
               "Messengers covered, #-separated (lower-cased)."),
              ("rights", "string", "/rights", "Usage conditions (the first rights element)."),
              ("rights_uri", "string", "/rights/@rightsURI",
               "The URI of the licence (the first rights element)."),
          ), primary_key=("ivoid",), indexes=(("res_type",),)),
    Table("res_role", "Persons and organisations acting on resources: contacts, publishers, "
          "creators, contributors.", None, _cols(
              _PARENT,
              ("role_name", "string", None, "The name of the person or organisation."),
              ("role_ivoid", "string", None, "Its IVOA identifier (lower-cased)."),
              ("street_address", "string", None, "Its postal address (contacts)."),
              ("email", "string", None, "Its email address (contacts)."),
              ("telephone", "string", None, "Its telephone number (contacts)."),
              ("logo", "string", None, "A logo URL (creators)."),
              ("base_role", "string", None,
               "contact, publisher, creator or contributor."),
          ), indexes=(("ivoid",), ("role_name",), ("base_role",)),
          references=("resource", ("ivoid",))),
    Table("res_subject", "Subject keywords of resources.", "xpath:/content/", _cols(
        _PARENT,
        ("res_subject", "string", "subject", "A topic or keyword of the resource."),
    ), indexes=(("ivoid",), ("res_subject",)), references=("resource", ("ivoid",))),
    Table("capability", "Pieces of behaviour of a resource (one per protocol endpoint).",
          "xpath:/capability/", _cols(
              _PARENT,
              ("cap_index", "integer", None, "The capability's index within the resource."),
              ("cap_type", "string", "@xsi:type",
               "The capability type (lower-cased); prefer standard_id for discovery."),
              ("cap_description", "string", "description",
               "What the capability provides."),
              ("standard_id", "string", "@standardID",
               "The standard the capability implements (lower-cased)."),
          ), primary_key=("ivoid", "cap_index"), indexes=(("standard_id",), ("cap_type",)),
          references=("resource", ("ivoid",))),
    Table("res_schema", "Sets of tables of resources.", "xpath:/tableset/schema/", _cols(
        _PARENT,
        ("schema_index", "integer", None, "The schema's index within the resource."),
        ("schema_description", "string", "description", "What the tables have in common."),
        ("schema_name", "string", "name", "The name of the schema (lower-cased)."),
        ("schema_title", "string", "title", "A human-readable name of the schema."),
        ("schema_utype", "string", "utype", "The data model of the schema (lower-cased)."),
    ), primary_key=("ivoid", "schema_index"), references=("resource", ("ivoid",))),
    Table("res_table", "Tables of resources, within schemas or not.",
          "xpath:/(tableset/schema/|)table/", _cols(
              _PARENT,
              ("schema_index", "integer", None, "The index of its schema, if any."),
              ("table_description", "string", "description", "What the table holds."),
              ("table_name", "string", "name", "The fully qualified name of the table."),
              ("table_index", "integer", None, "The table's index within the resource."),
              ("table_title", "string", "title", "A human-readable name of the table."),
              ("table_type", "string", "@type", "output, base_table, view, ..."),
              ("table_utype", "string", "utype", "The data model of the table (lower-cased)."),
          ), primary_key=("ivoid", "table_index"), indexes=(("table_utype",),),
          references=("resource", ("ivoid",))),
    Table("table_column", "Columns of the tables of resources.",
          "xpath:/(tableset/schema/|)/table/column/", _cols(
              _PARENT,
              ("table_index", "integer", None, "The index of its table."),
              ("name", "string", "name", "The name of the column (lower-cased)."),
              *_DATATYPE_COLUMNS,
              ("type_system", "string", "dataType/@xsi:type",
               "The type system: vs:votabletype, vs:taptype, ..."),
              ("flag", "string", "flag", "Traits (indexed, primary, nullable), #-separated."),
              ("column_description", "string", "description", "What the column holds."),
          ), indexes=(("ivoid", "table_index"), ("ucd",), ("name",), ("utype",)),
          references=("res_table", ("ivoid", "table_index"))),
    Table("interface", "Access modes of capabilities (one access URL each).",
          "xpath:/capability/interface/", _cols(
              _PARENT,
              ("cap_index", "integer", None, "The index of the parent capability."),
              ("intf_index", "integer", None, "The interface's index within the resource."),
              ("intf_type", "string", "@xsi:type", "vs:paramhttp, vr:webbrowser, ..."),
              ("intf_role", "string", "@role", "std for a standard interface."),
              ("std_version", "string", "@version", "The version of the standard."),
              ("query_type", "string", "queryType", "HTTP methods, #-separated."),
              ("result_type", "string", "resultType", "The MIME type of results."),
              ("wsdl_url", "string", "wsdlURL", "The WSDL of a web service."),
              ("url_use", "string", "accessURL/@use", "base, full or dir."),
              ("access_url", "string", "accessURL", "The URL of the interface."),
              ("mirror_url", "string", "mirrorURL", "Mirror URLs, #-separated."),
              ("authenticated_only", "integer", None,
               "1 if only authenticated clients are served, else 0."),
          ), primary_key=("ivoid", "intf_index"),
          indexes=(("ivoid", "cap_index"), ("intf_type",), ("access_url",)),
          references=("capability", ("ivoid", "cap_index"))),
    Table("intf_param", "Input parameters of interfaces.",
          "xpath:/capability/interface/param/", _cols(
              _PARENT,
              ("intf_index", "integer", None, "The index of the interface."),
              ("name", "string", "name", "The name of the parameter (lower-cased)."),
              *_DATATYPE_COLUMNS,
              ("param_use", "string", "@use", "required, optional or ignored."),
              ("param_description", "string", "description", "What the parameter means."),
          ), indexes=(("ivoid", "intf_index"),),
          references=("interface", ("ivoid", "intf_index"))),
    Table("relationship", "Relationships between resources (serving, mirroring, derivation).",
          "xpath:/content/relationship/", _cols(
              _PARENT,
              ("relationship_type", "string", "relationshipType",
               "The DataCite-compatible relationship (lower-cased)."),
              ("related_id", "string", "relatedResource/@ivo-id",
               "The IVOA identifier of the related resource (lower-cased)."),
              ("related_name", "string", "relatedResource", "The name of the related resource."),
          ), indexes=(("ivoid",), ("related_id",)), references=("resource", ("ivoid",))),
    Table("validation", "Validation levels of resources and capabilities.",
          "xpath:/(capability/|)validationLevel", _cols(
              _PARENT,
              ("validated_by", "string", "validationLevel/@validatedBy",
               "Who validated (lower-cased IVOA identifier)."),
              ("val_level", "integer", "validationLevel", "The validation level, 0 to 4."),
              ("cap_index", "integer", None, "The validated capability (NULL: the resource)."),
          ), indexes=(("ivoid",),), references=("resource", ("ivoid",))),
    Table("res_date", "Dates in the life cycle of resources.", "xpath:/curation/", _cols(
        _PARENT,
        ("date_value", "timestamp", "date", "The date (UTC)."),
        ("value_role", "string", "date/@role", "What happened then (created, updated, ...)."),
    ), indexes=(("ivoid",),), references=("resource", ("ivoid",))),
    Table("res_detail", "XPath-value pairs of less common metadata of resources and "
          "capabilities (data models, languages, output formats, limits, ...).", None, _cols(
              _PARENT,
              ("cap_index", "integer", None, "The capability (NULL: the whole resource)."),
              ("detail_xpath", "string", None, "The xpath of the item."),
              ("detail_value", "string", None, "Its value (not case-normalised)."),
          ), indexes=(("ivoid", "cap_index"), ("detail_xpath", "detail_value")),
          references=("resource", ("ivoid",))),
    Table("alt_identifier", "Alternative identifiers (DOIs, ORCIDs, bibcodes) of resources "
          "and their creators.", "xpath:/(curation/creator/|)altIdentifier", _cols(
              _PARENT,
              ("alt_identifier", "string", None, "An identifier in URI form."),
          ), indexes=(("ivoid",), ("alt_identifier",)), references=("resource", ("ivoid",))),
)

TAP_SCHEMA_TABLES: tuple[Table, ...] = (
    Table("schemas", "The schemas of this service.", None, _cols(
        ("schema_name", "string", None, "The schema name."),
        ("utype", "string", None, "The data model of the schema."),
        ("description", "string", None, "What the schema holds."),
        ("schema_index", "integer", None, "Its position in listings."),
    )),
    Table("tables", "The tables of this service.", None, _cols(
        ("schema_name", "string", None, "The schema of the table."),
        ("table_name", "string", None, "The fully qualified table name."),
        ("table_type", "string", None, "table or view."),
        ("utype", "string", None, "The data model role of the table."),
        ("description", "string", None, "What the table holds."),
        ("table_index", "integer", None, "Its position in listings."),
    )),
    Table("columns", "The columns of the tables of this service.", None, _cols(
        ("table_name", "string", None, "The fully qualified table name."),
        ("column_name", "string", None, "The column name."),
        ("datatype", "string", None, "The VOTable datatype."),
        ("arraysize", "string", None, "The VOTable arraysize."),
        ("xtype", "string", None, "The VOTable xtype."),
        ("size", "integer", None, "The length of fixed-size strings (deprecated)."),
        ("description", "string", None, "What the column holds."),
        ("utype", "string", None, "The data model role of the column."),
        ("unit", "string", None, "The unit of the values."),
        ("ucd", "string", None, "The UCD of the values."),
        ("indexed", "integer", None, "1 if the column is indexed."),
        ("principal", "integer", None, "1 if the column is of main interest."),
        ("std", "integer", None, "1 if the column is defined by a standard."),
        ("column_index", "integer", None, "Its position in listings."),
    )),
    Table("keys", "Foreign keys between the tables of this service.", None, _cols(
        ("key_id", "string", None, "The key identifier."),
        ("from_table", "string", None, "The table holding the key."),
        ("target_table", "string", None, "The table the key points to."),
        ("description", "string", None, "What the key means."),
        ("utype", "string", None, "The data model role of the key."),
    )),
    Table("key_columns", "The columns of the foreign keys.", None, _cols(
        ("key_id", "string", None, "The key identifier."),
        ("from_column", "string", None, "The column in from_table."),
        ("target_column", "string", None, "The column in target_table."),
    )),
)

SCHEMAS: dict[str, tuple[str, str | None, tuple[Table, ...]]] = {
    "rr": ("The IVOA Registry Relational Schema (RegTAP 1.1): the resources this registry "
           "holds.", REGTAP_DM, RR_TABLES),
    "tap_schema": ("Metadata on the tables of this TAP service.", None, TAP_SCHEMA_TABLES),
}
DISPLAY_NAMES = {"rr": "rr", "tap_schema": "TAP_SCHEMA"}  # ADQL matches either case
PHYSICAL = {(schema, table.name): f"{schema}_{table.name}"
            for schema, (_, _, tables) in SCHEMAS.items() for table in tables}
COLUMN_META: dict[str, Column] = {}
for _schema in SCHEMAS.values():
    for _table in _schema[2]:
        for _column in _table.columns:
            COLUMN_META.setdefault(_column.name, _column)
# Lower-cased on ingestion, and compared ignoring case: standard_id = 'ivo://ivoa.net/std/TAP'
# (as pyvo sends full standard ids) finds what a strictly case-sensitive match would miss.
NOCASE_COLUMNS = frozenset({"standard_id", "res_type", "cap_type", "intf_type", "intf_role"})
_SQL_TYPES = {"string": "TEXT", "timestamp": "TEXT", "integer": "INTEGER", "real": "REAL"}
_VOTABLE_TYPES = {"string": ("char", "*", None), "timestamp": ("char", "*", "timestamp"),
                  "integer": ("long", None, None), "real": ("double", None, None)}


def _create_statements() -> list[str]:
    statements = []
    for (schema, name), physical in PHYSICAL.items():
        table = next(t for t in SCHEMAS[schema][2] if t.name == name)
        columns = [f"{c.name} {_SQL_TYPES[c.type]}"
                   + (" COLLATE NOCASE" if schema == "rr" and c.name in NOCASE_COLUMNS else "")
                   for c in table.columns]
        if table.primary_key:
            columns.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
        statements.append(f"CREATE TABLE {physical} ({', '.join(columns)})")
    return statements


def _index_statements() -> list[str]:
    statements = []
    for table in RR_TABLES:
        for position, columns in enumerate(table.indexes):
            statements.append(f"CREATE INDEX rr_{table.name}_{position} "
                              f"ON rr_{table.name} ({', '.join(columns)})")
    return statements


# -- ingestion: VOResource -> rows ---------------------------------------------------------

CANONICAL_PREFIXES = {
    VR_NS: "vr", VS_NS: "vs", "http://www.ivoa.net/xml/VODataService/v1.0": "vs",
    VG_NS: "vg", RI_NS: "ri", TR_NS: "tr", XSI_NS: "xsi",
    "http://www.ivoa.net/xml/ConeSearch/v1.0": "cs",
    "http://www.ivoa.net/xml/SIA/v1.0": "sia", "http://www.ivoa.net/xml/SIA/v1.1": "sia",
    "http://www.ivoa.net/xml/SLAP/v1.0": "slap",
    "http://www.ivoa.net/xml/SSA/v1.0": "ssap", "http://www.ivoa.net/xml/SSA/v1.1": "ssap",
    "http://www.ivoa.net/xml/StandardsRegExt/v1.0": "vstd",
    "http://www.ivoa.net/xml/DocRegExt/v1.0": "doc",
    "http://purl.org/dc/elements/1.1/": "dc", "http://www.openarchives.org/OAI/2.0/": "oai",
}
# RegTAP 1.1 appendix C: deprecated VOResource 1.0 terms and their replacements.
DATE_ROLES = {"representative": "collected", "creation": "created", "update": "updated"}
RELATIONSHIP_TYPES = {"mirror-of": "isidenticalto", "service-for": "isservicefor",
                      "served-by": "isservedby", "derived-from": "isderivedfrom"}
# Resource-level elements whose text (and attributes) go to res_detail as /NAME[/@attr].
_RESOURCE_DETAILS = ("facility", "instrument", "format", "accessURL", "full",
                     "managedAuthority", "managingOrg", "deprecated", "endorsedVersion",
                     "rights")
_CAPABILITY_SKIPPED = {"description", "interface", "validationLevel"}

Row = dict[str, Any]


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in node if _local(child) == name]


def _child(node: etree._Element | None, name: str) -> etree._Element | None:
    if node is None:
        return None
    return next((child for child in node if _local(child) == name), None)


def _text(node: etree._Element | None) -> str | None:
    """The stripped text (None when empty), inner whitespace runs collapsed to one blank,
    except in descriptions, whose line breaks may carry paragraphs."""
    if node is None:
        return None
    text = "".join(node.itertext())
    if _local(node) != "description":
        text = " ".join(text.split())
    return text.strip() or None


def _attr(node: etree._Element | None, name: str) -> str | None:
    value = node.get(name) if node is not None else None
    return value.strip() or None if value is not None else None


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _hashlist(values: Iterable[str | None]) -> str | None:
    return "#".join(v.lower() for v in values if v) or None


def _qname(node: etree._Element | None, value: str | None) -> str | None:
    """A QName attribute value (xsi:type) with the canonical prefix, lower-cased."""
    if node is None or not value:
        return None
    prefix, _, local = value.strip().rpartition(":")
    namespace = node.nsmap.get(prefix or None)
    canonical = CANONICAL_PREFIXES.get(namespace or "", prefix)
    return (f"{canonical}:{local}" if canonical else local).lower()


def _boolean(value: str | None) -> int | None:
    if value is None:
        return None
    return {"true": 1, "1": 1, "false": 0, "0": 0}.get(value.strip().lower())


def _timestamp(value: str | None) -> str | None:
    """An ISO date or date-time as YYYY-MM-DDTHH:MM:SS in UTC; None if it is not one."""
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class SkippedRecord(Exception):
    """A record that is not ingested (inactive, deleted, or unusable)."""


@dataclass
class _Rows:
    tables: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, **values: Any) -> None:
        self.tables.setdefault(table, []).append(values)


def record_rows(record: Record) -> dict[str, list[Row]]:
    """The rr rows of one record, by table name. Raises SkippedRecord."""
    if record.deleted:
        raise SkippedRecord("deleted")
    try:
        root = etree.fromstring(record.xml, safe_parser(remove_comments=True, remove_pis=True))
    except etree.XMLSyntaxError as exc:
        raise SkippedRecord(f"not well-formed XML: {exc}") from None
    status = (root.get("status") or "active").strip().lower()
    if status != "active":
        raise SkippedRecord(status)
    ivoid = _lower(_text(_child(root, "identifier"))) or record.ivoid.lower()
    if not ivoid:
        raise SkippedRecord("no identifier")
    rows = _Rows()
    curation, content = _child(root, "curation"), _child(root, "content")
    coverage = _child(root, "coverage")
    source = _child(content, "source")
    rights = _child(root, "rights")
    updated = _timestamp(root.get("updated")) or record.updated.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S")
    rows.add("resource", ivoid=ivoid, res_type=_qname(root, root.get(XSI_TYPE)),
             created=_timestamp(root.get("created")), updated=updated,
             short_name=_text(_child(root, "shortName")), res_title=_text(_child(root, "title")),
             content_level=_hashlist(_text(e) for e in _children(content, "contentLevel")
                                     ) if content is not None else None,
             res_description=_text(_child(content, "description")),
             reference_url=_text(_child(content, "referenceURL")),
             creator_seq="; ".join(
                 name for c in (_children(curation, "creator") if curation is not None else [])
                 if (name := _text(_child(c, "name")))) or None,
             content_type=_hashlist(_text(e) for e in _children(content, "type")
                                    ) if content is not None else None,
             source_format=_lower(_attr(source, "format")), source_value=_text(source),
             res_version=_text(_child(curation, "version")),
             region_of_regard=_float(_text(_child(coverage, "regionOfRegard"))),
             waveband=_hashlist(_text(e) for e in _children(coverage, "waveband")
                                ) if coverage is not None else None,
             rights=_text(rights), rights_uri=_attr(rights, "rightsURI"))
    for level in _children(root, "validationLevel"):
        rows.add("validation", ivoid=ivoid, validated_by=_lower(_attr(level, "validatedBy")),
                 val_level=_int(_text(level)), cap_index=None)
    for alt in _children(root, "altIdentifier"):
        if value := _text(alt):
            rows.add("alt_identifier", ivoid=ivoid, alt_identifier=value)
    if curation is not None:
        _curation(rows, ivoid, curation)
    if content is not None:
        _content(rows, ivoid, content)
    _resource_details(rows, ivoid, root, coverage)
    for cap_index, capability in enumerate(_children(root, "capability")):
        _capability(rows, ivoid, cap_index, capability)
    _tables(rows, ivoid, root)
    return rows.tables


def _curation(rows: _Rows, ivoid: str, curation: etree._Element) -> None:
    for element in curation:
        kind = _local(element)
        if kind == "publisher":
            rows.add("res_role", ivoid=ivoid, base_role="publisher", role_name=_text(element),
                     role_ivoid=_lower(_attr(element, "ivo-id")))
        elif kind == "contributor":
            rows.add("res_role", ivoid=ivoid, base_role="contributor",
                     role_name=_text(element), role_ivoid=_lower(_attr(element, "ivo-id")))
        elif kind == "creator":
            name = _child(element, "name")
            rows.add("res_role", ivoid=ivoid, base_role="creator", role_name=_text(name),
                     role_ivoid=_lower(_attr(name, "ivo-id") or _attr(element, "ivo-id")),
                     logo=_text(_child(element, "logo")))
            for alt in _children(element, "altIdentifier"):
                if value := _text(alt):
                    rows.add("alt_identifier", ivoid=ivoid, alt_identifier=value)
        elif kind == "contact":
            name = _child(element, "name")
            rows.add("res_role", ivoid=ivoid, base_role="contact", role_name=_text(name),
                     role_ivoid=_lower(_attr(name, "ivo-id") or _attr(element, "ivo-id")),
                     street_address=_text(_child(element, "address")),
                     email=_text(_child(element, "email")),
                     telephone=_text(_child(element, "telephone")))
        elif kind == "date":
            role = (_attr(element, "role") or "representative").lower()
            rows.add("res_date", ivoid=ivoid, date_value=_timestamp(_text(element)),
                     value_role=DATE_ROLES.get(role, role))


def _content(rows: _Rows, ivoid: str, content: etree._Element) -> None:
    for subject in _children(content, "subject"):
        if value := _text(subject):
            rows.add("res_subject", ivoid=ivoid, res_subject=value)
    for relationship in _children(content, "relationship"):
        kind = (_text(_child(relationship, "relationshipType")) or "").lower() or None
        kind = RELATIONSHIP_TYPES.get(kind or "", kind)
        for related in _children(relationship, "relatedResource"):
            rows.add("relationship", ivoid=ivoid, relationship_type=kind,
                     related_id=_lower(_attr(related, "ivo-id")), related_name=_text(related))


def _detail(rows: _Rows, ivoid: str, cap_index: int | None, xpath: str,
            value: str | None) -> None:
    if value:
        rows.add("res_detail", ivoid=ivoid, cap_index=cap_index, detail_xpath=xpath,
                 detail_value=value)


def _plain_attributes(element: etree._Element) -> Iterator[tuple[str, str]]:
    for name, value in element.attrib.items():
        if not name.startswith("{") and value.strip():
            yield name, value.strip()


def _resource_details(rows: _Rows, ivoid: str, root: etree._Element,
                      coverage: etree._Element | None) -> None:
    for name in _RESOURCE_DETAILS:
        for element in _children(root, name):
            _detail(rows, ivoid, None, f"/{name}", _text(element))
            for attribute, value in _plain_attributes(element):
                _detail(rows, ivoid, None, f"/{name}/@{attribute}", value)
    for schema in _children(root, "schema"):  # StandardsRegExt
        _detail(rows, ivoid, None, "/schema/@namespace", _attr(schema, "namespace"))
    for footprint in _children(coverage, "footprint") if coverage is not None else []:
        _detail(rows, ivoid, None, "/coverage/footprint", _text(footprint))
        _detail(rows, ivoid, None, "/coverage/footprint/@ivo-id", _attr(footprint, "ivo-id"))


def _capability_details(rows: _Rows, ivoid: str, cap_index: int, element: etree._Element,
                        path: str) -> None:
    """Every leaf below a capability (but languageFeatures, which RegTAP cannot represent)
    as an xpath/value pair; attributes as .../@name."""
    for attribute, value in _plain_attributes(element):
        _detail(rows, ivoid, cap_index, f"{path}/@{attribute}", value)
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        _detail(rows, ivoid, cap_index, path, _text(element))
    for child in children:
        if _local(child) != "languageFeatures":
            _capability_details(rows, ivoid, cap_index, child, f"{path}/{_local(child)}")


def _capability(rows: _Rows, ivoid: str, cap_index: int, capability: etree._Element) -> None:
    rows.add("capability", ivoid=ivoid, cap_index=cap_index,
             cap_type=_qname(capability, capability.get(XSI_TYPE)),
             cap_description=_text(_child(capability, "description")),
             standard_id=_lower(_attr(capability, "standardID")))
    for level in _children(capability, "validationLevel"):
        rows.add("validation", ivoid=ivoid, validated_by=_lower(_attr(level, "validatedBy")),
                 val_level=_int(_text(level)), cap_index=cap_index)
    for child in capability:
        if isinstance(child.tag, str) and _local(child) not in _CAPABILITY_SKIPPED:
            _capability_details(rows, ivoid, cap_index, child, f"/capability/{_local(child)}")
    for interface in _children(capability, "interface"):
        intf_index = len(rows.tables.get("interface", ()))
        _interface(rows, ivoid, cap_index, intf_index, interface)


def _interface(rows: _Rows, ivoid: str, cap_index: int, intf_index: int,
               interface: etree._Element) -> None:
    access_url = _child(interface, "accessURL")
    methods = _children(interface, "securityMethod")
    for method in methods:
        _detail(rows, ivoid, cap_index, "/capability/interface/securityMethod/@standardID",
                _attr(method, "standardID"))
    for test in _children(interface, "testQueryString"):
        _detail(rows, ivoid, cap_index, "/capability/interface/testQueryString", _text(test))
    rows.add("interface", ivoid=ivoid, cap_index=cap_index, intf_index=intf_index,
             intf_type=_qname(interface, interface.get(XSI_TYPE)),
             intf_role=_lower(_attr(interface, "role")),
             std_version=_lower(_attr(interface, "version")),
             query_type=_hashlist(_text(e) for e in _children(interface, "queryType")),
             result_type=_lower(_text(_child(interface, "resultType"))),
             wsdl_url=_text(_child(interface, "wsdlURL")),
             url_use=_lower(_attr(access_url, "use")), access_url=_text(access_url),
             mirror_url="#".join(u for e in _children(interface, "mirrorURL")
                                 if (u := _text(e))) or None,
             authenticated_only=int(bool(methods) and all(_attr(m, "standardID")
                                                          for m in methods)))
    for param in _children(interface, "param"):
        rows.add("intf_param", ivoid=ivoid, intf_index=intf_index,
                 **_typed_item(param), param_use=_lower(_attr(param, "use")),
                 param_description=_text(_child(param, "description")))


def _typed_item(element: etree._Element) -> Row:
    """The columns table_column and intf_param share (name, ucd, ..., delim)."""
    datatype = _child(element, "dataType")
    return {"name": _lower(_text(_child(element, "name"))),
            "ucd": _lower(_text(_child(element, "ucd"))),
            "unit": _text(_child(element, "unit")),
            "utype": _lower(_text(_child(element, "utype"))),
            "std": _boolean(element.get("std")), "datatype": _lower(_text(datatype)),
            "extended_schema": _attr(datatype, "extendedSchema"),
            "extended_type": _attr(datatype, "extendedType"),
            "arraysize": _attr(datatype, "arraysize"), "delim": _attr(datatype, "delim")}


def _tables(rows: _Rows, ivoid: str, root: etree._Element) -> None:
    groups: list[tuple[int | None, etree._Element | None]] = [(None, root)]
    tableset = _child(root, "tableset")
    if tableset is not None:
        for schema_index, schema in enumerate(_children(tableset, "schema")):
            rows.add("res_schema", ivoid=ivoid, schema_index=schema_index,
                     schema_description=_text(_child(schema, "description")),
                     schema_name=_lower(_text(_child(schema, "name"))),
                     schema_title=_text(_child(schema, "title")),
                     schema_utype=_lower(_text(_child(schema, "utype"))))
            groups.append((schema_index, schema))
    table_index = 0
    for schema_index, parent in groups:
        for table in _children(parent, "table") if parent is not None else []:
            rows.add("res_table", ivoid=ivoid, schema_index=schema_index,
                     table_description=_text(_child(table, "description")),
                     table_name=_text(_child(table, "name")), table_index=table_index,
                     table_title=_text(_child(table, "title")),
                     table_type=_lower(_attr(table, "type")),
                     table_utype=_lower(_text(_child(table, "utype"))))
            for column in _children(table, "column"):
                datatype = _child(column, "dataType")
                rows.add("table_column", ivoid=ivoid, table_index=table_index,
                         **_typed_item(column),
                         type_system=_qname(datatype, datatype.get(XSI_TYPE)
                                            if datatype is not None else None),
                         flag=_hashlist(_text(f) for f in _children(column, "flag")),
                         column_description=_text(_child(column, "description")))
            table_index += 1


# -- TAP_SCHEMA rows -----------------------------------------------------------------------

def _tap_schema_rows() -> dict[str, list[Row]]:
    rows = _Rows()
    table_index = column_index = 0
    for schema_index, (schema, (description, utype, tables)) in enumerate(SCHEMAS.items()):
        shown = DISPLAY_NAMES[schema]
        rows.add("schemas", schema_name=shown, utype=utype, description=description,
                 schema_index=schema_index)
        for table in tables:
            qualified = f"{shown}.{table.name}"
            rows.add("tables", schema_name=shown, table_name=qualified, table_type="table",
                     utype=table.utype, description=table.description, table_index=table_index)
            table_index += 1
            indexed = {c for cols in (table.indexes, (table.primary_key,)) for i in cols
                       for c in i[:1]}
            for column in table.columns:
                datatype, arraysize, xtype = _VOTABLE_TYPES[column.type]
                rows.add("columns", table_name=qualified, column_name=column.name,
                         datatype=datatype, arraysize=arraysize, xtype=xtype, size=None,
                         description=column.description, utype=column.utype,
                         unit=column.unit, ucd=None, indexed=int(column.name in indexed),
                         principal=int(column.principal), std=int(schema == "rr"),
                         column_index=column_index)
                column_index += 1
            if table.references:
                target, columns = table.references
                key_id = f"{qualified}-{target}"
                rows.add("keys", key_id=key_id, from_table=qualified,
                         target_table=f"{shown}.{target}", description=None, utype=None)
                for name in columns:
                    rows.add("key_columns", key_id=key_id, from_column=name,
                             target_column=name)
    return rows.tables


# -- the index -------------------------------------------------------------------------------

class RegTAPError(Exception):
    """A query that failed; the message is for the user."""


@dataclass(frozen=True)
class LoadReport:
    loaded: int
    skipped: tuple[tuple[str, str], ...]  # (ivoid, why)


@dataclass(frozen=True)
class QueryResult:
    names: list[str]
    rows: list[tuple[Any, ...]]
    overflow: bool
    sql: str


_READ, _SELECT, _FUNCTION = sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION
_RECURSIVE = getattr(sqlite3, "SQLITE_RECURSIVE", 33)
_READABLE = frozenset(PHYSICAL.values())


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None,
               _trigger: str | None) -> int:
    """SELECT, reads (but of SQLite's own tables) and the known functions: nothing else
    runs, whatever the translation let through."""
    if action in (_SELECT, _RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == _READ:  # the known tables, and common table expressions (no real table)
        return sqlite3.SQLITE_DENY if (arg1 or "").lower().startswith("sqlite_") else \
            sqlite3.SQLITE_OK
    if action == _FUNCTION:
        return sqlite3.SQLITE_OK if (arg2 or "").lower() in SQLITE_FUNCTIONS else \
            sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_DENY


class RegTAPIndex:
    """The rr tables in SQLite: `load` rebuilds them, `query` runs ADQL on them.

    `path` is a database file (rebuilt next to itself and renamed into place, so it
    survives restarts) or ":memory:". Queries return at most `hard_maxrec` rows (by default
    `default_maxrec`) and are stopped after `timeout` seconds.
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *,
                 default_maxrec: int = 20_000, hard_maxrec: int = 200_000,
                 timeout: float = 10.0) -> None:
        self.path = None if str(path) == ":memory:" else Path(path)
        self.default_maxrec = default_maxrec
        self.hard_maxrec = hard_maxrec
        self.timeout = timeout
        self.started = datetime.now(UTC)
        self.loaded_at: datetime | None = None
        self._lock = threading.Lock()  # guards the swap of databases against new connections
        self._building = threading.Lock()  # one load at a time
        self._keeper: sqlite3.Connection | None = None  # keeps a memory database alive
        self._uri = ""
        if self.path is not None and self.path.is_file() and self._usable(self.path):
            self._uri = self._file_uri(self.path)
            self.loaded_at = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        else:
            self.load([])

    @staticmethod
    def _file_uri(path: Path) -> str:
        return f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"

    @staticmethod
    def _usable(path: Path) -> bool:
        try:
            with contextlib.closing(sqlite3.connect(RegTAPIndex._file_uri(path), uri=True)) as c:
                names = {r[0] for r in c.execute("SELECT name FROM sqlite_master")}
                version = c.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error:
            return False
        return names >= _READABLE and version == SCHEMA_VERSION

    # -- building --------------------------------------------------------------------------

    def load(self, records: Iterable[Record]) -> LoadReport:
        """Replace the whole content with these records (deleted and inactive ones are
        left out). Deterministic: the same records give the same tables."""
        tables: dict[str, list[Row]] = {}
        skipped: list[tuple[str, str]] = []
        chosen: dict[str, tuple[Record, dict[str, list[Row]]]] = {}
        for record in sorted(records, key=lambda r: (r.ivoid.lower(), r.updated)):
            try:
                rows = record_rows(record)
            except SkippedRecord as exc:
                skipped.append((record.ivoid, str(exc)))
                continue
            except Exception as exc:  # a broken record must not stop the others
                log.warning("RegTAP: record %s is not usable: %s", record.ivoid, exc)
                skipped.append((record.ivoid, f"unusable: {exc}"))
                continue
            chosen[rows["resource"][0]["ivoid"]] = (record, rows)  # the latest update wins
        for ivoid in sorted(chosen):
            for table, table_rows in chosen[ivoid][1].items():
                tables.setdefault(table, []).extend(table_rows)
        with self._building:
            if self.path is None:
                self._load_memory(tables)
            else:
                self._load_file(self.path, tables)
            self.loaded_at = datetime.now(UTC)
        return LoadReport(len(chosen), tuple(skipped))

    def _load_memory(self, tables: dict[str, list[Row]]) -> None:
        uri = f"file:innerspace-regtap-{uuid.uuid4().hex}?mode=memory&cache=shared"
        keeper = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._fill(keeper, tables)
        with self._lock:
            old, self._keeper, self._uri = self._keeper, keeper, uri
        if old is not None:
            old.close()  # the old database lives on while a query still reads it

    def _load_file(self, path: Path, tables: dict[str, list[Row]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        building = path.with_name(f"{path.name}.{os.getpid()}.building")
        building.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(building)) as connection:
            self._fill(connection, tables)
        with self._lock:
            os.replace(building, path)
            self._uri = self._file_uri(path)

    @staticmethod
    def _fill(connection: sqlite3.Connection, tables: dict[str, list[Row]]) -> None:
        with connection:
            for statement in _create_statements():
                connection.execute(statement)
            contents = {f"rr_{name}": rows for name, rows in tables.items()}
            contents |= {f"tap_schema_{name}": rows for name, rows in _tap_schema_rows().items()}
            for (schema, name), physical in PHYSICAL.items():
                table = next(t for t in SCHEMAS[schema][2] if t.name == name)
                names = [c.name for c in table.columns]
                connection.executemany(
                    f"INSERT INTO {physical} ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' * len(names))})",
                    [tuple(row.get(n) for n in names) for row in contents.get(physical, ())])
            for statement in _index_statements():
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("ANALYZE")

    # -- querying --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        with self._lock:  # not while a load swaps (and drops) the database
            connection = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 100_000_000)  # strings, aggregates
        connection.execute("PRAGMA query_only = ON")
        connection.execute("PRAGMA case_sensitive_like = ON")
        register_functions(connection)
        if connection.execute("SELECT 'a' LIKE 'A'").fetchone()[0]:
            raise RegTAPError("this SQLite cannot match LIKE case-sensitively")
        connection.set_authorizer(_authorize)
        return connection

    def count(self) -> int:
        """How many resources the index holds."""
        with contextlib.closing(self._connect()) as connection:
            return int(connection.execute("SELECT count(*) FROM rr_resource").fetchone()[0])

    def query(self, adql: str, maxrec: int | None = None) -> QueryResult:
        """Run one ADQL query; at most `maxrec` rows (overflow tells if there were more)."""
        limit = self.default_maxrec if maxrec is None else min(maxrec, self.hard_maxrec)
        if limit < 0:
            raise RegTAPError("MAXREC must not be negative")
        try:
            sql = translate(adql, PHYSICAL)
        except ADQLError as exc:
            raise RegTAPError(str(exc)) from None
        deadline = time.monotonic() + self.timeout
        with contextlib.closing(self._connect()) as connection:
            connection.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
            try:
                cursor = connection.execute(sql)
                names = [d[0] for d in cursor.description or ()]
                rows = cursor.fetchmany(limit + 1)
            except sqlite3.Error as exc:
                raise RegTAPError(self._explain(exc)) from None
        return QueryResult(names, rows[:limit], len(rows) > limit, sql)

    def _explain(self, exc: sqlite3.Error) -> str:
        message = str(exc)
        if message == "interrupted":
            return f"the query ran longer than the limit of {self.timeout:g} s"
        if message.startswith("no such column: "):
            return f"unknown column {message[len('no such column: '):]}"
        if "not authorized" in message or "prohibited" in message:
            return "the query uses something this service does not allow"
        for physical in sorted(_READABLE, key=len, reverse=True):
            schema, _, table = physical.partition("_")
            message = message.replace(physical, f"{schema}.{table}")
        return message


# -- results -----------------------------------------------------------------------------

def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        name = name or "col"
        count = seen.get(name.lower(), 0)
        seen[name.lower()] = count + 1
        result.append(name if count == 0 else f"{name}_{count + 1}")
    return result


def _column_kind(values: list[Any], meta: Column | None) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return meta.type if meta else "string"
    if all(isinstance(v, int) for v in present):
        return "integer"
    if all(isinstance(v, int | float) for v in present):
        return "real"
    return "timestamp" if meta is not None and meta.type == "timestamp" else "string"


def votable_document(result: QueryResult, query: str, serialization: str = "tabledata"
                     ) -> bytes:
    """The result as a TAP VOTable: QUERY_STATUS OK before the table, OVERFLOW after it
    when MAXREC cut the result short."""
    votable = VOTableFile()
    resource = Resource(type="results")
    votable.resources.append(resource)
    resource.infos.append(Info(name="QUERY_STATUS", value="OK"))
    resource.infos.append(Info(name="QUERY", value=_printable(query)))
    table = TableElement(votable, name="result")
    resource.tables.append(table)
    names = _unique(result.names)
    columns = list(zip(*result.rows, strict=True)) if result.rows else [() for _ in names]
    prepared = []
    binary = serialization != "tabledata"
    for name, values in zip(names, columns, strict=True):
        values = list(values)
        meta = COLUMN_META.get(name.lower())
        kind = _column_kind(values, meta)
        datatype, arraysize, xtype = _VOTABLE_TYPES[kind]
        mask = [v is None for v in values]
        if datatype == "char":
            values = ["" if v is None else v.decode("utf-8", "replace") if isinstance(
                v, bytes) else str(v) for v in values]
            if not all(v.isascii() for v in values):
                datatype = "unicodeChar"
                if binary:  # UCS-2 in BINARY: characters beyond it become "?"
                    values = ["".join(c if ord(c) < 0x10000 else "?" for c in v)
                              for v in values]
        elif datatype == "long":
            values = [0 if v is None else v for v in values]
        else:
            values = [np.nan if v is None else float(v) for v in values]
        column = Field(votable, name=name, ID=f"c{len(prepared)}", datatype=datatype,
                       arraysize=arraysize, xtype=xtype,
                       unit=meta.unit if meta and kind == meta.type else None)
        if meta is not None:
            column.description = meta.description
        if datatype == "long" and any(mask) and serialization == "binary":
            column.values.null = -(2**63)
            values = [-(2**63) if m else v for v, m in zip(values, mask, strict=True)]
        table.fields.append(column)
        prepared.append((values, mask))
    table.create_arrays(len(result.rows))
    for position, (values, mask) in enumerate(prepared):
        if result.rows:
            table.array[f"c{position}"] = values
            table.array.mask[f"c{position}"] = mask
    buffer = io.BytesIO()
    # Not VOTableFile.to_xml: for TABLEDATA it uses astropy's C row writer
    # (astropy.io.votable.tablewriter), which writes its NUL terminator one byte past its
    # row buffer whenever a row's XML is exactly a power of two (256, 512, ...) bytes long.
    # That corrupted the heap, and the service died later at random (SIGSEGV, "free():
    # invalid pointer"). writeto(), astropy's public writer, uses its Python row writer.
    writeto(votable, buffer, tabledata_format=serialization)
    body = buffer.getvalue()
    if result.overflow:
        end = body.rindex(b"</RESOURCE>")
        body = body[:end] + b'<INFO name="QUERY_STATUS" value="OVERFLOW"/>\n ' + body[end:]
    return body


def _printable(text: str) -> str:
    """Characters XML cannot carry (control characters, lone surrogates) become '?'."""
    return NOT_XML.sub("?", text)


def error_document(message: str) -> bytes:
    """A TAP error document: RESOURCE type=results, INFO QUERY_STATUS=ERROR with the text."""
    votable = VOTableFile()
    resource = Resource(type="results")
    votable.resources.append(resource)
    info = Info(name="QUERY_STATUS", value="ERROR")
    info.content = _printable(message)
    resource.infos.append(info)
    buffer = io.BytesIO()
    votable.to_xml(buffer)
    return buffer.getvalue()


def csv_document(result: QueryResult) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(result.names)
    writer.writerows(["" if v is None else v for v in row] for row in result.rows)
    return buffer.getvalue().encode()


# -- VOSI documents ------------------------------------------------------------------------

ADQL_FEATURES = {
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
    "ivo://ivoa.net/std/TAPRegExt#features-adql-conditional": [("COALESCE", None)],
    "ivo://ivoa.net/std/TAPRegExt#features-adql-type": [("CAST", None)],
    "ivo://ivoa.net/std/TAPRegExt#features-adql-common-table": [("WITH", None)],
    "ivo://ivoa.net/std/TAPRegExt#features-adql-offset": [("OFFSET", None)],
}
OUTPUT_FORMATS = (  # (canonical name, MIME type, ivo-id, aliases)
    ("tabledata", f"{VOTABLE_TYPE};serialization=TABLEDATA",
     "ivo://ivoa.net/std/TAPRegExt#output-votable-td", ("votable", "votable/td")),
    ("binary", f"{VOTABLE_TYPE};serialization=BINARY",
     "ivo://ivoa.net/std/TAPRegExt#output-votable-binary", ("votable/b",)),
    ("binary2", f"{VOTABLE_TYPE};serialization=BINARY2",
     "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2", ("votable/b2",)),
    ("csv", "text/csv;header=present", None, ("csv",)),
)


def capabilities_document(tap_url: str, index: RegTAPIndex) -> bytes:
    """VOSI capabilities: the TAP capability (TAPRegExt, data model RegTAP 1.1) and VOSI."""
    e = ElementMaker(nsmap={"vosi": VOSI_CAP_NS, "vr": VR_NS, "vs": VS_NS, "tr": TR_NS,
                            "xsi": XSI_NS})

    def interface(url: str, use: str, **attributes: str) -> etree._Element:
        element = e.interface(e.accessURL(url, use=use), role="std", **attributes)
        element.set(XSI_TYPE, "vs:ParamHTTP")
        return element

    tap = e.capability(standardID="ivo://ivoa.net/std/TAP")
    tap.set(XSI_TYPE, "tr:TableAccess")
    tap.append(e.description("RegTAP 1.1: ADQL queries over the resources of this registry "
                             "(synchronous only)"))
    tap.append(interface(tap_url, "base", version="1.1"))
    tap.append(e.dataModel("Registry 1.1", **{"ivo-id": REGTAP_DM}))
    language = e.language(e.name("ADQL"), e.version("2.0", **{"ivo-id":
                                                              "ivo://ivoa.net/std/ADQL#v2.0"}),
                          e.version("2.1", **{"ivo-id": "ivo://ivoa.net/std/ADQL#v2.1"}),
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
    for _, mime, ivo_id, aliases in OUTPUT_FORMATS:
        output = e.outputFormat(e.mime(mime), *[e.alias(a) for a in aliases])
        if ivo_id:
            output.set("ivo-id", ivo_id)
        tap.append(output)
    tap.append(e.executionDuration(e.hard(str(int(index.timeout)))))
    tap.append(e.outputLimit(e.default(str(index.default_maxrec), unit="row"),
                             e.hard(str(index.hard_maxrec), unit="row")))
    root = e.capabilities(tap)
    root.tag = f"{{{VOSI_CAP_NS}}}capabilities"
    for standard, path in (("ivo://ivoa.net/std/VOSI#capabilities", "capabilities"),
                           ("ivo://ivoa.net/std/VOSI#availability", "availability"),
                           ("ivo://ivoa.net/std/VOSI#tables", "tables")):
        root.append(e.capability(interface(f"{tap_url}/{path}", "full"), standardID=standard))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@cache
def tables_document() -> bytes:
    """VOSI tables: the rr and TAP_SCHEMA schemas with every table and column."""
    nsmap = {"vosi": VOSI_TABLES_NS, "vs": VS_NS, "xsi": XSI_NS}
    e = ElementMaker(nsmap=nsmap)
    root = etree.Element(f"{{{VOSI_TABLES_NS}}}tableset", nsmap=nsmap)
    for schema, (description, utype, tables) in SCHEMAS.items():
        element = e.schema(e.name(DISPLAY_NAMES[schema]), e.description(description))
        if utype:
            element.append(e.utype(utype))
        for table in tables:
            table_element = e.table(e.name(f"{DISPLAY_NAMES[schema]}.{table.name}"),
                                    e.description(table.description), type="table")
            if table.utype:
                table_element.append(e.utype(table.utype))
            for column in table.columns:
                datatype, arraysize, xtype = _VOTABLE_TYPES[column.type]
                item = e.column(e.name(column.name), e.description(column.description))
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
                if column.name in table.primary_key:
                    item.append(e.flag("primary"))
                if column.principal:
                    item.append(e.flag("principal"))
                table_element.append(item)
            element.append(table_element)
        root.append(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def availability_document(index: RegTAPIndex) -> bytes:
    resources = index.count()
    document = Availability(available=True, up_since=index.started,
                            note=[f"the registry holds {resources} resources"])
    return document.to_xml(xml_declaration=True, encoding="UTF-8")


# -- HTTP ----------------------------------------------------------------------------------

router = APIRouter()
XML_TYPE = "application/xml"


def get_index(request: Request) -> RegTAPIndex:
    index = getattr(getattr(request.app.state, "services", None), "regtap", None)
    if not isinstance(index, RegTAPIndex):
        raise RegTAPError("the registry search is not available on this service")
    return index


def tap_url(request: Request) -> str:
    """The TAP base URL: public_url (if configured) plus this router's prefix."""
    settings = getattr(request.app.state, "settings", None)
    public = getattr(settings, "public_url", None)
    base = (public or str(request.base_url)).rstrip("/")
    path = request.url.path
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return base + path.rsplit("/", 1)[0]


async def _parameters(request: Request) -> dict[str, list[str]]:
    """Query and form parameters, names lower-cased (TAP names are case-insensitive)."""
    items: list[tuple[str, Any]] = list(request.query_params.multi_items())
    if request.method == "POST":
        try:
            form = await request.form()
        except Exception as exc:
            raise RegTAPError(f"the request body is not a readable form: {exc}") from None
        items += list(form.multi_items())
    parameters: dict[str, list[str]] = {}
    for name, value in items:
        if not isinstance(value, str):
            raise RegTAPError(f"{name}: uploads are not supported by this service")
        parameters.setdefault(name.lower(), []).append(value)
    return parameters


def _single(parameters: dict[str, list[str]], name: str) -> str | None:
    values = parameters.get(name.lower())
    if not values:
        return None
    if len(set(values)) > 1:
        raise RegTAPError(f"{name.upper()} is given more than once")
    return values[0]


def _output_format(value: str | None) -> str:
    if value is None or not value.strip():
        return "tabledata"
    wanted = value.strip().lower().replace(" ", "")
    if wanted in ("votable", VOTABLE_TYPE, "text/xml", "application/xml"):
        return "tabledata"
    for name, mime, _, aliases in OUTPUT_FORMATS:
        if wanted in (mime.lower(), *aliases, name) or (
                name == "csv" and wanted in ("text/csv", "csv")):
            return name
    raise RegTAPError(f"unsupported output format {value!r}; use votable, votable/td, "
                      "votable/b, votable/b2 or csv")


def _error(message: str) -> Response:
    return Response(error_document(message), status_code=400, media_type=VOTABLE_TYPE)


@router.api_route("/sync", methods=["GET", "POST"], summary="TAP synchronous ADQL query")
async def sync(request: Request) -> Response:
    try:
        index = get_index(request)
        parameters = await _parameters(request)
        operation = _single(parameters, "REQUEST")
        if operation is not None and operation.strip().lower() != "doquery":
            raise RegTAPError(f"REQUEST={operation} is not supported; use doQuery")
        language = (_single(parameters, "LANG") or "ADQL").strip()
        if language.upper() not in ("ADQL", "ADQL-2.0", "ADQL-2.1"):
            raise RegTAPError(f"LANG={language} is not supported; use ADQL")
        if parameters.get("upload"):
            raise RegTAPError("UPLOAD is not supported by this service")
        query = _single(parameters, "QUERY")
        if query is None or not query.strip():
            raise RegTAPError("the QUERY parameter is missing")
        maxrec_text = _single(parameters, "MAXREC")
        try:
            maxrec = int(maxrec_text) if maxrec_text is not None else None
        except ValueError:
            raise RegTAPError(f"MAXREC={maxrec_text} is not an integer") from None
        serialization = _output_format(_single(parameters, "RESPONSEFORMAT")
                                       or _single(parameters, "FORMAT"))
        result = await run_in_threadpool(index.query, query, maxrec)
        if serialization == "csv":
            body = await run_in_threadpool(csv_document, result)
            return Response(body, media_type="text/csv;header=present")
        body = await run_in_threadpool(votable_document, result, query, serialization)
        return Response(body, media_type=VOTABLE_TYPE)
    except RegTAPError as exc:
        return _error(str(exc))
    except Exception as exc:  # never a 500: the client gets a TAP error document
        log.exception("RegTAP query failed")
        return _error(f"the query failed: {type(exc).__name__}: {exc}")


@router.get("/capabilities", summary="VOSI capabilities of the RegTAP service")
async def capabilities(request: Request) -> Response:
    try:
        index = get_index(request)
    except RegTAPError as exc:
        return Response(f"{exc}\n", status_code=503, media_type="text/plain")
    return Response(capabilities_document(tap_url(request), index), media_type=XML_TYPE)


@router.get("/availability", summary="VOSI availability of the RegTAP service")
async def availability(request: Request) -> Response:
    try:
        index = get_index(request)
    except RegTAPError as exc:
        document = Availability(available=False, note=[str(exc)])
        return Response(document.to_xml(xml_declaration=True, encoding="UTF-8"),
                        media_type=XML_TYPE)
    body = await run_in_threadpool(availability_document, index)
    return Response(body, media_type=XML_TYPE)


@router.get("/tables", summary="VOSI tables of the RegTAP service")
async def tables() -> Response:
    return Response(tables_document(), media_type=XML_TYPE)
