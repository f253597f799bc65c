"""ADQL for the RegTAP index: parse a query with sqlglot (an ADQL dialect: TOP, ILIKE, ||,
delimited identifiers in double quotes), check it is one read-only SELECT over known tables
and supported functions, and turn it into SQLite.

The translation works on the syntax tree, never on the query text:

- `rr.resource` and the other known tables become their SQLite tables, aliased to the bare
  table name so that `rr.resource.ivoid` and `resource.ivoid` still resolve;
- TOP n becomes LIMIT n, LOG(x) the natural logarithm, MOD/TRUNCATE/RAND their ADQL meaning;
- ILIKE matches case-insensitively (LIKE itself is case-sensitive here, as in ADQL);
- the RegTAP functions ivo_hasword, ivo_nocasematch, ivo_hashlist_has and
  ivo_interval_overlaps are Python functions on the connection (`functions`), but
  `1=ivo_hasword(column, 'words')` over a column with a word index (`words`) becomes a
  look-up in that index (`_word_lookup`: the same rows, without reading every text), and
  the aggregate ivo_string_agg(expr, sep) becomes COALESCE(group_concat(expr, sep), '');
- common table expressions are MATERIALIZED and subqueries in FROM get OFFSET 0, so that
  SQLite computes each once instead of copying it into the query that uses it.

Anything else -- other statements, several statements, unknown tables or functions, query
parameters, SELECT INTO, recursive queries -- is an `ADQLError` with a message for the user.
Unknown columns are left to SQLite, which refuses them when it prepares the statement, before
running it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import sqlglot
from sqlglot import TokenType, exp, parser, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, SqlglotError

from innerspace.registry.errors import RegTAPError
from innerspace.registry.regtap import words
from innerspace.registry.regtap.schema import PHYSICAL, TABLES
from innerspace.registry.sandbox.functions import UDF_ARITY, WORD

MAX_QUERY_LENGTH = 100_000

GEOMETRY_FUNCTIONS = frozenset({"area", "box", "centroid", "circle", "contains", "coord1",
                                "coord2", "coordsys", "distance", "intersects", "point",
                                "polygon", "region"})

# The ADQL functions sqlglot knows (parsed into these classes) that the service runs.
_ALLOWED_FUNCTIONS: tuple[type[exp.Expr], ...] = (
    exp.Abs, exp.Ceil, exp.Degrees, exp.Exp, exp.Floor, exp.Ln, exp.Log, exp.Pi, exp.Pow,
    exp.Radians, exp.Sqrt, exp.Round, exp.Acos, exp.Asin, exp.Atan, exp.Atan2, exp.Cos,
    exp.Sin, exp.Tan, exp.Cot, exp.Lower, exp.Upper, exp.Coalesce, exp.Count, exp.Sum,
    exp.Avg, exp.Min, exp.Max, exp.Cast, exp.Case, exp.If,
    exp.And, exp.Or, exp.Exists,  # operators sqlglot models as functions
)

# Statement kinds that never run, whatever they are nested in.
_FORBIDDEN: tuple[type[exp.Expr], ...] = tuple(
    cls for cls in (getattr(exp, name, None) for name in (
        "Insert", "Update", "Delete", "Merge", "Drop", "Create", "Alter", "Command", "Pragma",
        "Transaction", "Commit", "Rollback", "Set", "Use", "Attach", "Detach", "Copy",
        "LoadData", "Describe", "Show", "Grant", "Revoke", "Analyze", "Truncate",
        "TruncateTable"))
    if isinstance(cls, type))


class ADQLError(RegTAPError, ValueError):
    """A query this service cannot run; the message is meant for the user."""


class ADQLDialect(Dialect):
    """ADQL 2.0/2.1 as sqlglot reads it: standard SQL plus TOP, ILIKE and ADQL's LOG."""

    class Tokenizer(tokens.Tokenizer):
        QUOTES: ClassVar[list[tuple[str, str] | str]] = ["'"]
        IDENTIFIERS: ClassVar[list[str | tuple[str, str]]] = ['"']
        KEYWORDS: ClassVar[dict[str, TokenType]] = {**tokens.Tokenizer.KEYWORDS,
                                                    "TOP": TokenType.TOP}
        KEYWORDS.pop("/*+", None)

    class Parser(parser.Parser):
        LOG_DEFAULTS_TO_LN = True


class SQLiteTarget(SQLite):
    """SQLite output that delimits identifiers with backticks: a double-quoted name SQLite
    cannot resolve would otherwise silently become a string literal."""

    class Tokenizer(SQLite.Tokenizer):
        IDENTIFIERS: ClassVar[list[str | tuple[str, str]]] = ["`", '"', ("[", "]")]


def _parse(query: str) -> exp.Expr:
    if len(query) > MAX_QUERY_LENGTH:
        raise ADQLError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
    if not query.strip():
        raise ADQLError("the query is empty")
    try:
        statements = [s for s in sqlglot.parse(query, read=ADQLDialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        near = f" (near {first.get('highlight')!r})" if first.get("highlight") else ""
        description = first.get("description") or str(exc)
        raise ADQLError(f"syntax error{where}{near}: {description}") from None
    except SqlglotError as exc:
        raise ADQLError(f"syntax error: {exc}") from None
    if not statements:
        raise ADQLError("the query is empty")
    if len(statements) > 1:
        raise ADQLError(f"only one statement is allowed; the query has {len(statements)}")
    tree = statements[0]
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN):
            raise ADQLError(f"only SELECT queries are allowed, not {_kind(node)}")
    if not isinstance(tree, exp.Query):
        raise ADQLError(f"only SELECT queries are allowed, not {_kind(tree)}")
    return tree


def _kind(node: exp.Expr) -> str:
    return f"{node.key.upper()} statements" if node.key else "this statement"


def translate(query: str, tables: Mapping[tuple[str, str], str]) -> str:
    """The SQLite text of one ADQL SELECT. `tables` maps (schema, table), both lower case,
    to the SQLite table that holds it, e.g. ("rr", "resource") -> "rr_resource"."""
    try:
        return _translate(query, tables)
    except RecursionError:
        raise ADQLError("the query is nested too deeply") from None


def _translate(query: str, tables: Mapping[tuple[str, str], str]) -> str:
    tree = _parse(query)
    _refuse_recursion(tree)
    _keep_apart(tree)
    _name_outputs(tree)
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in list(tree.walk()):
        if isinstance(node, exp.Into):
            raise ADQLError("SELECT ... INTO is not allowed: the registry is read-only")
        if isinstance(node, exp.Placeholder | exp.Parameter):
            raise ADQLError(f"query parameters ({node.sql()}) are not supported")
        if isinstance(node, exp.Select) and not node.expressions:
            raise ADQLError("the select list is empty")
        if isinstance(node, exp.Identifier) and not node.quoted:
            node.set("this", node.name.lower())
    for table in list(tree.find_all(exp.Table)):
        _map_table(table, tables, ctes)
    for column in list(tree.find_all(exp.Column)):
        _map_column(column, tables)
    for equality in list(tree.find_all(exp.EQ)):
        _word_lookup(equality)
    for node in reversed(list(tree.walk(bfs=False))):  # children before their parents
        _map_expression(node)
    try:
        # Every identifier delimited: names that are keywords in SQLite only stay names.
        return tree.sql(dialect=SQLiteTarget, identify=True,
                        unsupported_level=sqlglot.ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise ADQLError(f"the query uses something this service cannot run: {exc}") from None


def _refuse_recursion(tree: exp.Expr) -> None:
    """No recursive common table expression (not ADQL; and a query could grow in one
    without end): neither WITH RECURSIVE nor one that refers to itself, which SQLite runs
    as recursive even without the keyword. (The connection's authorizer denies them too.)"""
    for with_clause in tree.find_all(exp.With):
        if with_clause.args.get("recursive"):
            raise ADQLError("WITH RECURSIVE is not supported (it is not ADQL): a recursive "
                            "query could grow without end")
    for cte in tree.find_all(exp.CTE):
        name = cte.alias_or_name.lower()
        if any(not table.db and table.name.lower() == name
               for table in cte.this.find_all(exp.Table)):
            raise ADQLError(f"the common table expression {name} refers to itself: recursive "
                            "queries (WITH RECURSIVE) are not supported")


def _keep_apart(tree: exp.Expr) -> None:
    """Every common table expression computed once (MATERIALIZED), every subquery in FROM
    kept a subquery (OFFSET 0). Otherwise SQLite copies their expressions into the query
    that uses them, level by level: twenty levels of `SELECT x || x AS x FROM (...)` become
    one expression of a million nodes, gigabytes before the query even runs. (The offset
    also keeps SQLite from copying outer WHERE terms into the subquery, for the same
    reason.)"""
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", True)
    for subquery in tree.find_all(exp.Subquery):
        inner = subquery.this
        if isinstance(subquery.parent, exp.From | exp.Join) and isinstance(inner, exp.Query) \
                and not inner.args.get("offset"):
            inner.set("offset", exp.Offset(expression=exp.Literal.number(0)))


def _name_outputs(tree: exp.Expr) -> None:
    """Give computed columns of the outermost select list a plain name (count, col3, ...)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    named: list[exp.Expr] = []
    for position, projection in enumerate(select.expressions, start=1):
        if isinstance(projection, exp.Alias | exp.Column | exp.Star):
            named.append(projection)
            continue
        if isinstance(projection, exp.Anonymous):
            name = projection.name.lower()
        elif isinstance(projection, exp.Mod):
            name = "mod"
        elif isinstance(projection, exp.Func):
            name = projection.sql_name().lower()
        else:
            name = f"col{position}"
        named.append(exp.alias_(projection, name))
    select.set("expressions", named)


def _table_name(schema: str, table: str) -> str:
    return f"{schema}.{table}" if schema else table


def _map_table(table: exp.Table, tables: Mapping[tuple[str, str], str], ctes: set[str]) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise ADQLError(f"{table.sql(dialect=ADQLDialect)} is not a table this service has")
    schema, name = table.db.lower(), table.name.lower()
    if table.catalog:
        raise ADQLError(f"unknown table {table.catalog}.{table.db}.{table.name}")
    if not schema and name in ctes:
        return
    physical = tables.get((schema, name))
    if physical is None:
        known = ", ".join(sorted(_table_name(s, t) for s, t in tables))
        raise ADQLError(f"unknown table {_table_name(table.db, table.name)}; the tables "
                        f"are {known}")
    table.set("this", exp.to_identifier(physical))
    table.set("db", None)
    if not table.alias:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))


def _map_column(column: exp.Column, tables: Mapping[tuple[str, str], str]) -> None:
    if not column.args.get("db"):
        return
    if column.args.get("catalog"):
        raise ADQLError(f"unknown column {column.sql(dialect=ADQLDialect)}")
    if (column.db.lower(), column.table.lower()) not in tables:
        raise ADQLError(f"unknown table {column.db}.{column.table} in "
                        f"{column.sql(dialect=ADQLDialect)}")
    column.set("db", None)


def _map_expression(node: exp.Expr) -> None:
    if isinstance(node, exp.ILike):
        node.replace(_ilike(node))
    elif isinstance(node, exp.Mod):
        node.replace(exp.Anonymous(this="mod", expressions=[node.this, node.expression]))
    elif isinstance(node, exp.Trunc):
        digits = node.args.get("decimals") or exp.Literal.number(0)
        node.replace(exp.Anonymous(this="adql_truncate", expressions=[node.this, digits]))
    elif isinstance(node, exp.Rand):
        node.replace(exp.Anonymous(this="adql_rand", expressions=[]))
    elif isinstance(node, exp.Anonymous):
        name = node.name.lower()
        arity = UDF_ARITY.get(name)
        if name in GEOMETRY_FUNCTIONS:
            raise ADQLError(f"the ADQL geometry function {name.upper()} is not supported by "
                            "this service")
        if arity is None:
            raise ADQLError(f"unknown function {node.name}; besides the ADQL functions, this "
                            f"service offers {', '.join(sorted(UDF_ARITY))}")
        if len(node.expressions) != arity:
            raise ADQLError(f"{name} takes {arity} arguments, not {len(node.expressions)}")
        node.set("this", name)
        if name == "ivo_string_agg":
            aggregate = exp.Anonymous(this="group_concat", expressions=node.expressions)
            node.replace(exp.Coalesce(this=aggregate, expressions=[exp.Literal.string("")]))
        elif name == "ivo_hasword":
            node.replace(_hasword(node))
    elif isinstance(node, exp.Func) and not isinstance(node, _ALLOWED_FUNCTIONS):
        kind = "ADQL geometry function" if node.sql_name().lower() in GEOMETRY_FUNCTIONS \
            else "function"
        raise ADQLError(f"the {kind} {node.sql_name()} is not supported by this service")


# The columns of each physical table (those the word look-up may stand for).
_COLUMNS = {physical: frozenset(c.name for c in TABLES[key].columns)
            for key, physical in PHYSICAL.items()}


def _is_one(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and node.this == "1"


def _word_lookup(equality: exp.EQ) -> None:
    """`1=ivo_hasword(column, 'words')` (or `ivo_hasword(...)=1`) over a column with a word
    index: `table.rowid IN (the rows of the index that have every word)`, which SQLite
    answers from the index. The same truth value: the index holds the words as ivo_hasword
    sees them (`words`). Only where a NULL would do as well as a 0 (terms of WHERE joined by
    AND and OR: a NULL-extended row of an outer join has no rowid) is it left bare, which
    lets SQLite start from it; elsewhere it is COALESCE(..., 0)."""
    left, right = equality.this, equality.expression
    call = right if _is_one(left) else left if _is_one(right) else None
    if not (isinstance(call, exp.Anonymous) and call.name.lower() == "ivo_hasword"
            and len(call.expressions) == 2):
        return
    column, needle = call.expressions
    if not (isinstance(column, exp.Column) and isinstance(needle, exp.Literal)
            and needle.is_string):
        return
    source = _source(column)
    lookup = words.lookup(source[1], column.name.lower(), needle.this) if source else None
    if source is None or lookup is None:
        return
    test: exp.Expr = exp.In(this=exp.column("rowid", table=source[0]),
                            query=exp.Subquery(this=sqlglot.parse_one(lookup, read=SQLiteTarget)))
    if not _truth_only(equality):
        test = exp.Coalesce(this=test, expressions=[exp.Literal.number(0)])
    equality.replace(exp.Paren(this=test))


def _source(column: exp.Column) -> tuple[str, str] | None:
    """(alias, physical table) of the table of this select that `column` belongs to, when
    that is sure: no derived table or common table expression could hold it instead."""
    select = column.find_ancestor(exp.Select)
    if select is None:
        return None
    items = [select.args["from_"].this] if select.args.get("from_") else []
    items += [join.this for join in select.args.get("joins") or []]
    sources = [(item.alias_or_name.lower(),
                item.name if isinstance(item, exp.Table) and item.name in _COLUMNS else None)
               for item in items]
    name, qualifier = column.name.lower(), column.table.lower()
    if qualifier:
        found = [s for s in sources if s[0] == qualifier]
    elif any(physical is None for _, physical in sources):
        return None
    else:
        found = [s for s in sources if name in _COLUMNS[s[1] or ""]]
    alias, physical = found[0] if len(found) == 1 else ("", None)
    return (alias, physical) if physical is not None else None


def _truth_only(node: exp.Expr) -> bool:
    """Whether only the truth of `node` counts: it is (in AND, OR and parentheses) WHERE."""
    parent = node.parent
    while isinstance(parent, exp.And | exp.Or | exp.Paren):
        parent = parent.parent
    return isinstance(parent, exp.Where)


# The substring pre-test of ivo_hasword: at most this many words of at most this length
# (instr takes time proportional to the text times the word, beyond the deadline's reach).
HASWORD_PRETEST_WORDS, HASWORD_PRETEST_LENGTH = 4, 64


def _hasword(node: exp.Anonymous) -> exp.Expr:
    """ivo_hasword(column, 'ascii words'): a substring test in SQLite first, so that the
    Python word match only runs on the rows that contain the (first few, short) words
    somewhere. Only over a column: the test repeats its haystack once per word."""
    haystack, needle = node.expressions
    if not (isinstance(haystack, exp.Column) and isinstance(needle, exp.Literal)
            and needle.is_string and needle.this.isascii()):
        return node
    words = [word for word in WORD.findall(needle.this.lower())
             if len(word) <= HASWORD_PRETEST_LENGTH][:HASWORD_PRETEST_WORDS]
    if not words:
        return node
    tests = [exp.GT(this=exp.Anonymous(this="instr", expressions=[
        exp.Lower(this=haystack.copy()), exp.Literal.string(word)]),
        expression=exp.Literal.number(0)) for word in words]
    return exp.Case(ifs=[exp.If(this=exp.and_(*tests), true=node.copy())],
                    default=exp.Literal.number(0))


def _ilike(node: exp.ILike) -> exp.Expr:
    """ILIKE: with an ASCII pattern literal, LOWER(x) LIKE lower(pattern) runs in SQLite
    itself; other patterns go through a Unicode-aware Python function."""
    pattern = node.expression
    match: exp.Expr
    if isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this.isascii():
        match = exp.Like(this=exp.Lower(this=node.this),
                         expression=exp.Literal.string(pattern.this.lower()))
    elif isinstance(node.parent, exp.Escape):  # x ILIKE p ESCAPE c stays an operator
        match = exp.Like(this=exp.Lower(this=node.this), expression=exp.Lower(this=pattern))
    else:
        match = exp.Anonymous(this="adql_ilike", expressions=[node.this, pattern])
    return exp.Not(this=match) if node.args.get("negate") else match
