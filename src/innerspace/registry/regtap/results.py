"""Query results as TAP answers: a VOTable (TABLEDATA, BINARY or BINARY2) with QUERY_STATUS
OK, and OVERFLOW after the table when MAXREC cut it short; CSV with a header line; the error
VOTable (QUERY_STATUS ERROR); and the output formats TAPRegExt declares, with the names and
aliases RESPONSEFORMAT accepts."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io.votable import writeto
from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile

from innerspace.registry.errors import RegTAPError
from innerspace.registry.regtap.index import QueryResult
from innerspace.registry.regtap.origins import column_origins
from innerspace.registry.regtap.rr_tables import Column
from innerspace.registry.regtap.schema import COLUMN_META, INTEGER_TYPES, VOTABLE_TYPES
from innerspace.xmltext import printable

VOTABLE = "application/x-votable+xml"
CSV = "text/csv;header=present"


@dataclass(frozen=True)
class OutputFormat:
    """One output format: its canonical name, MIME type and ivo-id as TAPRegExt declares
    them, and the other names RESPONSEFORMAT may give it."""

    name: str
    mime: str
    ivo_id: str | None
    aliases: tuple[str, ...]


OUTPUT_FORMATS = (
    OutputFormat("tabledata", f"{VOTABLE};serialization=TABLEDATA",
                 "ivo://ivoa.net/std/TAPRegExt#output-votable-td", ("votable", "votable/td")),
    OutputFormat("binary", f"{VOTABLE};serialization=BINARY",
                 "ivo://ivoa.net/std/TAPRegExt#output-votable-binary", ("votable/b",)),
    OutputFormat("binary2", f"{VOTABLE};serialization=BINARY2",
                 "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2", ("votable/b2",)),
    OutputFormat("csv", CSV, None, ("csv",)),
)


def output_format(value: str | None) -> str:
    """The canonical name of the format RESPONSEFORMAT (or FORMAT) asks for; TABLEDATA
    when it asks for none or for VOTable in general."""
    if value is None or not value.strip():
        return "tabledata"
    wanted = value.strip().lower().replace(" ", "")
    if wanted in ("votable", VOTABLE, "text/xml", "application/xml"):
        return "tabledata"
    for known in OUTPUT_FORMATS:
        if wanted in (known.mime.lower(), *known.aliases, known.name) or (
                known.name == "csv" and wanted in ("text/csv", "csv")):
            return known.name
    raise RegTAPError(f"unsupported output format {value!r}; use votable, votable/td, "
                      "votable/b, votable/b2 or csv")


def result_document(result: QueryResult, query: str, serialization: str) -> tuple[bytes, str]:
    """The result in the output format `serialization` names, and its media type."""
    if serialization == "csv":
        return csv_document(result), CSV
    return votable_document(result, query, serialization), VOTABLE


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
    """The column type of a result column: its table column's, when its values fit it;
    else what its values are (integers as bigint, so that any fits)."""
    present = [v for v in values if v is not None]
    if not present:
        return meta.type if meta else "string"
    if all(isinstance(v, int) for v in present):
        kind = meta.type if meta is not None and meta.type in INTEGER_TYPES else "bigint"
        # The type's lowest value is left free: BINARY writes NULL as it.
        if any(not -INTEGER_TYPES[kind] < v < INTEGER_TYPES[kind] for v in present):
            kind = "bigint"
        return kind
    if all(isinstance(v, int | float) for v in present):
        return "real"
    return "timestamp" if meta is not None and meta.type == "timestamp" else "string"


def _field(votable: VOTableFile, name: str, values: list[Any], serialization: str,
           field_id: str, origin: Column | None) -> tuple[Field, list[Any], list[bool]]:
    """The FIELD of one result column (typed from its values and the metadata of the
    column it comes from, or failing that of a column of its name), its values as astropy
    takes them, and which of them are NULL."""
    meta = origin or COLUMN_META.get(name.lower())
    kind = _column_kind(values, meta)
    datatype, arraysize, xtype = VOTABLE_TYPES[kind]
    mask = [v is None for v in values]
    if datatype == "char":
        texts = ["" if v is None else v.decode("utf-8", "replace") if isinstance(
            v, bytes) else str(v) for v in values]
        if not all(v.isascii() for v in texts):
            datatype = "unicodeChar"
            if serialization != "tabledata":  # UCS-2 in BINARY: beyond it becomes "?"
                texts = ["".join(c if ord(c) < 0x10000 else "?" for c in v) for v in texts]
        values = list(texts)
    elif kind in INTEGER_TYPES:
        values = [0 if v is None else v for v in values]
    else:
        values = [np.nan if v is None else float(v) for v in values]
    same = meta is not None and (kind == meta.type or (
        kind in INTEGER_TYPES and meta.type in INTEGER_TYPES))
    field = Field(votable, name=name, ID=field_id, datatype=datatype, arraysize=arraysize,
                  xtype=xtype, unit=meta.unit if meta is not None and same else None,
                  utype=origin.utype if origin is not None and same else None)
    if meta is not None:
        field.description = meta.description
    if kind in INTEGER_TYPES and any(mask) and serialization == "binary":
        null = -INTEGER_TYPES[kind]
        field.values.null = null
        values = [null if m else v for v, m in zip(values, mask, strict=True)]
    return field, values, mask


def votable_document(result: QueryResult, query: str, serialization: str = "tabledata"
                     ) -> bytes:
    """The result as a TAP VOTable: QUERY_STATUS OK before the table, OVERFLOW after it
    when MAXREC cut the result short."""
    votable = VOTableFile()
    resource = Resource(type="results")
    votable.resources.append(resource)
    resource.infos.append(Info(name="QUERY_STATUS", value="OK"))
    resource.infos.append(Info(name="QUERY", value=printable(query)))
    table = TableElement(votable, name="result")
    resource.tables.append(table)
    names = _unique(result.names)
    columns = list(zip(*result.rows, strict=True)) if result.rows else [() for _ in names]
    prepared: list[tuple[list[Any], list[bool]]] = []
    origins = column_origins(query, result.names)
    for name, column_values, origin in zip(names, columns, origins, strict=True):
        field, values, mask = _field(votable, name, list(column_values), serialization,
                                     f"c{len(prepared)}", origin)
        table.fields.append(field)
        prepared.append((values, mask))
    # TABLEDATA rows are written here (`_tabledata`): astropy writes only the rest.
    rows = len(result.rows) if serialization != "tabledata" else 0
    table.create_arrays(rows)
    for position, (values, mask) in enumerate(prepared):
        if rows:
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
    if serialization == "tabledata" and result.rows:
        end = body.rindex(b"</TABLE>")
        body = b"".join((body[:end], _tabledata(table.fields, prepared), b"  ", body[end:]))
    if result.overflow:
        end = body.rindex(b"</RESOURCE>")
        whole = memoryview(body)  # slices of a view copy nothing: one copy of the body, not 3
        body = b"".join((whole[:end], b'<INFO name="QUERY_STATUS" value="OVERFLOW"/>\n ',
                         whole[end:]))
    return body


def _escaped(texts: list[str]) -> list[str]:
    """The texts with &, < and > escaped: in one pass over all of them when no text holds
    the NUL that separates them (a NUL is replaced later anyway)."""
    joined = "\0".join(texts)
    escaped = joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if joined.count("\0") == len(texts) - 1:
        return escaped.split("\0")
    return [t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for t in texts]


def _tabledata(fields: Sequence[Field], prepared: Sequence[tuple[list[Any], list[bool]]]
               ) -> bytes:
    """The DATA element of the rows, TABLEDATA, one row a line: what astropy writes for
    them (its converters' text; an empty TD for NULL), in a tenth of its time. (astropy's
    Python row writer looks at every cell through numpy: most of a large search's time.)
    Every character XML cannot carry is replaced, as in the rest of the document."""
    cells: list[list[str]] = []
    for field, (values, mask) in zip(fields, prepared, strict=True):
        if field.datatype in ("char", "unicodeChar"):
            cells.append(["<TD/>" if m or not v else f"<TD>{v}</TD>"
                          for v, m in zip(_escaped(values), mask, strict=True)])
        elif field.datatype in ("short", "int", "long"):
            cells.append(["<TD/>" if m else f"<TD>{v}</TD>"
                          for v, m in zip(values, mask, strict=True)])
        else:
            output = field.converter.output
            cells.append(["<TD/>" if m else f"<TD>{output(v, False)}</TD>"
                          for v, m in zip(values, mask, strict=True)])
    text = "".join(f"<TR>{''.join(row)}</TR>\n" for row in zip(*cells, strict=True))
    return f"   <DATA>\n    <TABLEDATA>\n{printable(text)}    </TABLEDATA>\n   </DATA>\n" \
        .encode()


def error_document(message: str) -> bytes:
    """A TAP error document: RESOURCE type=results, INFO QUERY_STATUS=ERROR with the text."""
    votable = VOTableFile()
    resource = Resource(type="results")
    votable.resources.append(resource)
    info = Info(name="QUERY_STATUS", value="ERROR")
    info.content = printable(message)
    resource.infos.append(info)
    buffer = io.BytesIO()
    votable.to_xml(buffer)
    return buffer.getvalue()


def csv_document(result: QueryResult) -> bytes:
    """The result as CSV with a header line; NULL is an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(result.names)
    writer.writerows(["" if v is None else v for v in row] for row in result.rows)
    return buffer.getvalue().encode()

