"""The whole schema the RegTAP service exposes: the `rr` tables and TAP_SCHEMA, their
SQLite tables (`rr.resource` is `rr_resource`), the SQL that creates them, the VOTable types
of their columns, and the TAP_SCHEMA rows that describe them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from innerspace import vocabulary
from innerspace.registry.regtap.rr_tables import RR_TABLES, Column, Table, cols

Row = dict[str, Any]

TAP_SCHEMA_TABLES: tuple[Table, ...] = (
    Table("schemas", "The schemas of this service.", None, cols(
        ("schema_name", "string", None, "The schema name."),
        ("utype", "string", None, "The data model of the schema."),
        ("description", "string", None, "What the schema holds."),
        ("schema_index", "integer", None, "Its position in listings."),
    )),
    Table("tables", "The tables of this service.", None, cols(
        ("schema_name", "string", None, "The schema of the table."),
        ("table_name", "string", None, "The fully qualified table name."),
        ("table_type", "string", None, "table or view."),
        ("utype", "string", None, "The data model role of the table."),
        ("description", "string", None, "What the table holds."),
        ("table_index", "integer", None, "Its position in listings."),
    )),
    Table("columns", "The columns of the tables of this service.", None, cols(
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
    Table("keys", "Foreign keys between the tables of this service.", None, cols(
        ("key_id", "string", None, "The key identifier."),
        ("from_table", "string", None, "The table holding the key."),
        ("target_table", "string", None, "The table the key points to."),
        ("description", "string", None, "What the key means."),
        ("utype", "string", None, "The data model role of the key."),
    )),
    Table("key_columns", "The columns of the foreign keys.", None, cols(
        ("key_id", "string", None, "The key identifier."),
        ("from_column", "string", None, "The column in from_table."),
        ("target_column", "string", None, "The column in target_table."),
    )),
)

SCHEMAS: dict[str, tuple[str, str | None, tuple[Table, ...]]] = {
    "rr": ("The IVOA Registry Relational Schema (RegTAP 1.1): the resources this registry "
           "holds.", vocabulary.REGTAP_DATA_MODEL, RR_TABLES),
    "tap_schema": ("Metadata on the tables of this TAP service.", None, TAP_SCHEMA_TABLES),
}
DISPLAY_NAMES = {"rr": "rr", "tap_schema": "TAP_SCHEMA"}  # ADQL matches either case
PHYSICAL = {(schema, table.name): f"{schema}_{table.name}"
            for schema, (_, _, tables) in SCHEMAS.items() for table in tables}
# The metadata of a result column, by name (the first table defining the name wins).
COLUMN_META: dict[str, Column] = {}
for _schema in SCHEMAS.values():
    for _table in _schema[2]:
        for _column in _table.columns:
            COLUMN_META.setdefault(_column.name, _column)
# Lower-cased on ingestion, and compared ignoring case: standard_id = 'ivo://ivoa.net/std/TAP'
# (as pyvo sends full standard ids) finds what a strictly case-sensitive match would miss.
NOCASE_COLUMNS = frozenset({"standard_id", "res_type", "cap_type", "intf_type", "intf_role"})
_SQL_TYPES = {"string": "TEXT", "timestamp": "TEXT", "integer": "INTEGER", "real": "REAL"}
# RegTAP type -> VOTable (datatype, arraysize, xtype)
VOTABLE_TYPES: dict[str, tuple[str, str | None, str | None]] = {
    "string": ("char", "*", None), "timestamp": ("char", "*", "timestamp"),
    "integer": ("long", None, None), "real": ("double", None, None)}


def create_statements() -> list[str]:
    """CREATE TABLE for every table; rr's identifier-like columns compare without case."""
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


def index_statements() -> list[str]:
    """CREATE INDEX for the rr tables (run after filling them: faster)."""
    statements = []
    for table in RR_TABLES:
        for position, columns in enumerate(table.indexes):
            statements.append(f"CREATE INDEX rr_{table.name}_{position} "
                              f"ON rr_{table.name} ({', '.join(columns)})")
    return statements


@dataclass
class Rows:
    """Rows of several tables, by unqualified table name, in the order they were added."""

    tables: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, **values: Any) -> None:
        self.tables.setdefault(table, []).append(values)


def tap_schema_rows() -> dict[str, list[Row]]:
    """The TAP_SCHEMA rows (schemas, tables, columns, keys) describing both schemas."""
    rows = Rows()
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
            indexed = {c for keys in (table.indexes, (table.primary_key,)) for i in keys
                       for c in i[:1]}
            for column in table.columns:
                datatype, arraysize, xtype = VOTABLE_TYPES[column.type]
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

