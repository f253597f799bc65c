"""Where the columns of a query's result come from: for each result column that is a column
of one of the service's tables, named in the outermost select list (`t.name`, `name AS x`,
or through `*`), that table's column, so that the result's FIELDs carry the same type, unit,
utype and description as TAP_SCHEMA declares for it.

SQLite does not tell which table a result column comes from, so this reads the ADQL
(already checked by the translation: it parses). Whatever it cannot resolve -- computed
values, columns of subqueries and common table expressions -- has no origin.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from innerspace.registry.regtap.adql import ADQLDialect
from innerspace.registry.regtap.rr_tables import Column, Table
from innerspace.registry.regtap.schema import TABLES

Scope = list[tuple[str, Table | None]]  # (alias, table; None for a subquery or CTE)


def column_origins(query: str, names: Sequence[str]) -> list[Column | None]:
    """The column of a table each result column (named `names`, in order) comes from."""
    unknown: list[Column | None] = [None] * len(names)
    try:
        tree = sqlglot.parse_one(query, read=ADQLDialect)
    except (SqlglotError, RecursionError, ValueError):
        return unknown
    select = tree
    while isinstance(select, exp.SetOperation):  # the first SELECT names the columns
        select = select.this
    if not isinstance(select, exp.Select):
        return unknown
    scope = _scope(select)
    projections = select.expressions
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star)
           for p in projections) or len(projections) != len(names):
        # Through *: by name, in the order of the FROM clause (as SQLite expands it).
        return [_find(scope, None, name) for name in names]
    origins: list[Column | None] = []
    for projection in projections:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Column) and isinstance(inner.this, exp.Identifier):
            origins.append(_find(scope, _name(inner.args.get("table")),
                                 _name(inner.this) or ""))
        else:
            origins.append(None)
    return origins


def _name(identifier: exp.Expr | None) -> str | None:
    """An identifier as SQLite resolves it here: delimited ones as written, others lower."""
    if not isinstance(identifier, exp.Identifier):
        return None
    return identifier.name if identifier.quoted else identifier.name.lower()


def _scope(select: exp.Select) -> Scope:
    """The tables of the select's FROM clause and joins, by the alias queries use."""
    sources = []
    if (source := select.args.get("from_") or select.args.get("from")) is not None:
        sources.append(source.this)
    sources += [join.this for join in select.args.get("joins") or ()]
    scope: Scope = []
    for source in sources:
        alias = (source.alias_or_name or "").lower()
        table = None
        if isinstance(source, exp.Table) and source.db:
            table = TABLES.get((source.db.lower(), source.name.lower()))
        scope.append((alias, table))
    return scope


def _find(scope: Scope, alias: str | None, name: str) -> Column | None:
    """The column `name` of the table called `alias` (None: the first table having it)."""
    for table_alias, table in scope:
        if alias is not None and table_alias != alias.lower():
            continue
        if table is None:
            if alias is not None:
                return None
            continue
        for column in table.columns:
            if column.name == name.lower() or column.adql_name == name:
                return column
        if alias is not None:
            return None
    return None
