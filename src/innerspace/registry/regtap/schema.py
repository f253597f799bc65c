"""The whole schema the RegTAP service exposes: the `rr` tables and TAP_SCHEMA, their
SQLite tables (`rr.resource` is `rr_resource`), the SQL that creates them, the VOTable types
of their columns, and the TAP_SCHEMA rows that describe them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from innerspace import vocabulary
from innerspace.registry.regtap.rr_tables import (
    RR_TABLES,
    Column,
    ForeignKey,
    Table,
    cols,
    refs,
)

Row = dict[str, Any]

# TAP_SCHEMA as TAP 1.1 (sect. 4) defines it: every standard column with its type, and the
# foreign keys between its tables.
TAP_SCHEMA_TABLES: tuple[Table, ...] = (
    Table("schemas", "The schemas of this service.", None, cols(
        ("schema_name", "string", None, "The schema name."),
        ("utype", "string", None, "The data model of the schema, if any."),
        ("description", "string", None, "What the schema holds."),
        ("schema_index", "integer", None, "Its position in listings of the schemas."),
    ), primary_key=("schema_name",)),
    Table("tables", "The tables of this service.", None, cols(
        ("schema_name", "string", None, "The schema of the table."),
        ("table_name", "string", None, "The fully qualified table name."),
        ("table_type", "string", None, "table or view."),
        ("utype", "string", None, "The data model role of the table, if any."),
        ("description", "string", None, "What the table holds."),
        ("table_index", "integer", None, "Its position in listings of the tables."),
    ), primary_key=("table_name",), foreign_keys=refs("schemas", "schema_name")),
    Table("columns", "The columns of the tables of this service.", None, cols(
        ("table_name", "string", None, "The fully qualified table name."),
        ("column_name", "string", None, "The column name (delimited if it is an ADQL "
         "reserved word)."),
        ("datatype", "string", None, "The VOTable datatype of the values."),
        ("arraysize", "string", None, "The VOTable arraysize of the values."),
        ("xtype", "string", None, "The VOTable xtype of the values."),
        ("size", "integer", None, "The length of fixed-length values (deprecated: see "
         "arraysize)."),
        ("description", "string", None, "What the column holds."),
        ("utype", "string", None, "The data model role of the column, if any."),
        ("unit", "string", None, "The unit of the values, in VOUnits."),
        ("ucd", "string", None, "The UCD of the values, if any."),
        ("indexed", "integer", None, "1 if the column is indexed, else 0."),
        ("principal", "integer", None, "1 if the column is of main interest, else 0."),
        ("std", "integer", None, "1 if a standard defines the column, else 0."),
        ("column_index", "integer", None, "Its position in listings of the table's "
         "columns."),
    ), primary_key=("table_name", "column_name"), foreign_keys=refs("tables", "table_name")),
    Table("keys", "Foreign keys between the tables of this service.", None, cols(
        ("key_id", "string", None, "The key identifier."),
        ("from_table", "string", None, "The table holding the key."),
        ("target_table", "string", None, "The table the key points to."),
        ("description", "string", None, "What the key means."),
        ("utype", "string", None, "The data model role of the key, if any."),
    ), primary_key=("key_id",), foreign_keys=(
        ForeignKey("tables", (("from_table", "table_name"),)),
        ForeignKey("tables", (("target_table", "table_name"),)))),
    Table("key_columns", "The columns of the foreign keys.", None, cols(
        ("key_id", "string", None, "The key identifier."),
        ("from_column", "string", None, "The column in from_table."),
        ("target_column", "string", None, "The column in target_table."),
    ), indexes=(("key_id",),), foreign_keys=refs("keys", "key_id")),
)

SCHEMAS: dict[str, tuple[str, str | None, tuple[Table, ...]]] = {
    "rr": ("The IVOA Registry Relational Schema (RegTAP 1.1): the resources this registry "
           "holds.", vocabulary.REGTAP_DATA_MODEL, RR_TABLES),
    "tap_schema": ("Metadata on the tables of this TAP service.", None, TAP_SCHEMA_TABLES),
}
DISPLAY_NAMES = {"rr": "rr", "tap_schema": "TAP_SCHEMA"}  # ADQL matches either case
PHYSICAL = {(schema, table.name): f"{schema}_{table.name}"
            for schema, (_, _, tables) in SCHEMAS.items() for table in tables}
# Every table by (schema, table name), both lower case, as ADQL names them.
TABLES: dict[tuple[str, str], Table] = {
    (schema, table.name): table for schema, (_, _, tables) in SCHEMAS.items()
    for table in tables}
# The metadata of a result column whose table is not known, by name (the first table
# defining the name wins).
COLUMN_META: dict[str, Column] = {}
for _table in TABLES.values():
    for _column in _table.columns:
        COLUMN_META.setdefault(_column.name, _column)
# Lower-cased on ingestion, and compared ignoring case: standard_id = 'ivo://ivoa.net/std/TAP'
# (as pyvo sends full standard ids) finds what a strictly case-sensitive match would miss.
NOCASE_COLUMNS = frozenset({"standard_id", "res_type", "cap_type", "intf_type", "intf_role"})
INTEGER_TYPES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}  # type -> bound
_SQL_TYPES = {"string": "TEXT", "timestamp": "TEXT", "real": "REAL",
              **dict.fromkeys(INTEGER_TYPES, "INTEGER")}
# Column type -> VOTable (datatype, arraysize, xtype), as TAP 1.1 writes them in TAP_SCHEMA.
VOTABLE_TYPES: dict[str, tuple[str, str | None, str | None]] = {
    "string": ("char", "*", None), "timestamp": ("char", "*", "timestamp"),
    "smallint": ("short", None, None), "integer": ("int", None, None),
    "bigint": ("long", None, None), "real": ("double", None, None)}


def qualified(schema: str, table: Table) -> str:
    """The table's name as clients see it, e.g. rr.resource or TAP_SCHEMA.columns."""
    return f"{DISPLAY_NAMES[schema]}.{table.name}"


def key_id(schema: str, table: Table, key: ForeignKey) -> str:
    """The identifier of a foreign key: its table and its columns."""
    return f"{qualified(schema, table)}:{'+'.join(source for source, _ in key.columns)}"


def create_statements() -> list[str]:
    """CREATE TABLE for every table; rr's identifier-like columns compare without case."""
    statements = []
    for (schema, name), physical in PHYSICAL.items():
        table = TABLES[schema, name]
        columns = [f"{c.name} {_SQL_TYPES[c.type]}"
                   + (" COLLATE NOCASE" if schema == "rr" and c.name in NOCASE_COLUMNS else "")
                   for c in table.columns]
        if table.primary_key:
            columns.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
        statements.append(f"CREATE TABLE {physical} ({', '.join(columns)})")
    return statements


def index_statements() -> list[str]:
    """CREATE INDEX for every table's indexes (run after filling them: faster)."""
    statements = []
    for key, physical in PHYSICAL.items():
        for position, columns in enumerate(TABLES[key].indexes):
            statements.append(f"CREATE INDEX {physical}_{position} "
                              f"ON {physical} ({', '.join(columns)})")
    return statements


@dataclass
class Rows:
    """Rows of several tables, by unqualified table name, in the order they were added."""

    tables: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, **values: Any) -> None:
        self.tables.setdefault(table, []).append(values)


def tap_schema_rows() -> dict[str, list[Row]]:
    """The TAP_SCHEMA rows (schemas, tables, columns, keys, key_columns) describing both
    schemas."""
    rows = Rows()
    table_index = 0
    for schema_index, (schema, (description, utype, tables)) in enumerate(SCHEMAS.items()):
        shown = DISPLAY_NAMES[schema]
        rows.add("schemas", schema_name=shown, utype=utype, description=description,
                 schema_index=schema_index)
        for table in tables:
            name = qualified(schema, table)
            rows.add("tables", schema_name=shown, table_name=name, table_type="table",
                     utype=table.utype, description=table.description, table_index=table_index)
            table_index += 1
            for column_index, column in enumerate(table.columns):
                datatype, arraysize, xtype = VOTABLE_TYPES[column.type]
                rows.add("columns", table_name=name, column_name=column.adql_name,
                         datatype=datatype, arraysize=arraysize, xtype=xtype, size=None,
                         description=column.description, utype=column.utype,
                         unit=column.unit, ucd=None, indexed=int(column.name in table.indexed),
                         principal=int(column.principal), std=int(column.std),
                         column_index=column_index)
            for key in table.foreign_keys:
                target = next(t for t in tables if t.name == key.target)
                identifier = key_id(schema, table, key)
                rows.add("keys", key_id=identifier, from_table=name,
                         target_table=qualified(schema, target),
                         description=f"{name} ({', '.join(s for s, _ in key.columns)}) "
                                     f"refers to {qualified(schema, target)}", utype=None)
                for source, destination in key.columns:
                    rows.add("key_columns", key_id=identifier, from_column=source,
                             target_column=destination)
    return rows.tables
