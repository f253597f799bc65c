"""ADQL for the RegTAP index: parse a query with sqlglot (an ADQL dialect: TOP, ILIKE, ||,
delimited identifiers in double quotes), check it is one read-only SELECT over known tables
and supported functions, and turn it into SQLite.

The translation works on the syntax tree, never on the query text:

- `rr.resource` and the other known tables become their SQLite tables, aliased to the bare
  table name so that `rr.resource.ivoid` and `resource.ivoid` still resolve;
- TOP n becomes LIMIT n, LOG(x) the natural logarithm, MOD/TRUNCATE/RAND their ADQL meaning;
- ILIKE matches case-insensitively (LIKE itself is case-sensitive here, as in ADQL);
- the RegTAP functions ivo_hasword, ivo_nocasematch, ivo_hashlist_has and
  ivo_interval_overlaps are Python functions on the connection (`register_functions`), and
  the aggregate ivo_string_agg(expr, sep) becomes COALESCE(group_concat(expr, sep), '').

Anything else -- other statements, several statements, unknown tables or functions, query
parameters, SELECT INTO -- is an `ADQLError` with a message for the user. Unknown columns are
left to SQLite, which refuses them when it prepares the statement, before running it.
"""

from __future__ import annotations

import math
import random
import re
import sqlite3
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import ClassVar

import sqlglot
from sqlglot import TokenType, exp, parser, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, SqlglotError

from innerspace.registry.errors import RegTAPError

MAX_QUERY_LENGTH = 100_000

# The RegTAP user-defined functions: name -> number of arguments.
UDF_ARITY = {"ivo_hasword": 2, "ivo_nocasematch": 2, "ivo_hashlist_has": 2,
             "ivo_string_agg": 2, "ivo_interval_overlaps": 4}

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

# SQLite functions a translated query may call (checked again by the connection's authorizer).
SQLITE_FUNCTIONS = frozenset({
    "abs", "ceil", "ceiling", "degrees", "exp", "floor", "ln", "log", "log10", "pi", "pow",
    "power", "radians", "sqrt", "round", "acos", "asin", "atan", "atan2", "cos", "sin", "tan",
    "cot", "mod", "lower", "upper", "coalesce", "count", "sum", "avg", "min", "max", "like",
    "group_concat", "instr", "adql_ilike", "adql_truncate", "adql_rand", *UDF_ARITY})


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
    for node in reversed(list(tree.walk(bfs=False))):  # children before their parents
        _map_expression(node)
    try:
        # Every identifier delimited: names that are keywords in SQLite only stay names.
        return tree.sql(dialect=SQLiteTarget, identify=True,
                        unsupported_level=sqlglot.ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise ADQLError(f"the query uses something this service cannot run: {exc}") from None


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


def _hasword(node: exp.Anonymous) -> exp.Expr:
    """ivo_hasword(h, 'ascii words'): a substring test in SQLite first, so that the Python
    word match only runs on the rows that contain every word somewhere."""
    haystack, needle = node.expressions
    if not (isinstance(needle, exp.Literal) and needle.is_string and needle.this.isascii()):
        return node
    words = _WORD.findall(needle.this.lower())
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


# -- functions on the SQLite connection ---------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=512)
def _word_patterns(needle: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", re.IGNORECASE)
                 for word in _WORD.findall(needle))


def ivo_hasword(haystack: str | None, needle: str | None) -> int:
    """1 if every word of `needle` is a word of `haystack` (case-insensitive; words are runs
    of letters and digits), else 0."""
    if haystack is None or needle is None:
        return 0
    patterns = _word_patterns(str(needle))
    text = str(haystack)
    return int(bool(patterns) and all(p.search(text) for p in patterns))


def like_match(text: str, pattern: str) -> bool:
    """SQL LIKE (`%` any run, `_` one character), in time linear in len(text) * len(pattern):
    the greedy two-pointer matcher, never a backtracking regular expression (a public query
    must not be able to pin a CPU)."""
    t = p = 0
    star_p, star_t = -1, 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "_" or pattern[p] == text[t]):
            t += 1
            p += 1
        elif p < len(pattern) and pattern[p] == "%":
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0:
            star_t += 1
            t, p = star_t, star_p + 1
        else:
            return False
    while p < len(pattern) and pattern[p] == "%":
        p += 1
    return p == len(pattern)


def ivo_nocasematch(value: str | None, pattern: str | None) -> int:
    """1 if `value` matches the LIKE `pattern` ignoring case, else 0 (also for NULLs)."""
    if value is None or pattern is None:
        return 0
    return int(like_match(str(value).casefold(), str(pattern).casefold()))


def adql_ilike(value: str | None, pattern: str | None) -> int | None:
    """The ILIKE operator: as ivo_nocasematch, but NULL in, NULL out."""
    if value is None or pattern is None:
        return None
    return ivo_nocasematch(value, pattern)


def ivo_hashlist_has(hashlist: str | None, item: str | None) -> int:
    """1 if `item` is one of the #-separated words of `hashlist`, ignoring case."""
    if hashlist is None or item is None:
        return 0
    wanted = str(item).strip().casefold()
    return int(any(part.strip().casefold() == wanted for part in str(hashlist).split("#")))


def ivo_interval_overlaps(l1: float | None, h1: float | None, l2: float | None,
                          h2: float | None) -> int | None:
    """1 if [l1, h1] and [l2, h2] overlap (touching counts), 0 if not, NULL with NULLs."""
    if l1 is None or h1 is None or l2 is None or h2 is None:
        return None
    return int(h1 >= l2 and h2 >= l1 and l1 <= h1 and l2 <= h2)


def adql_truncate(value: float | None, digits: int | None) -> float | None:
    if value is None or digits is None:
        return None
    scale = 10.0 ** int(digits)
    return math.trunc(value * scale) / scale


def adql_rand(*_: object) -> float:
    return random.random()


def _cot(value: float | None) -> float | None:
    return None if value is None else 1.0 / math.tan(value)


_MATH_FALLBACKS: dict[str, tuple[int, Callable[..., float]]] = {
    "sqrt": (1, math.sqrt), "ln": (1, math.log), "log10": (1, math.log10),
    "exp": (1, math.exp), "pi": (0, lambda: math.pi), "power": (2, math.pow),
    "pow": (2, math.pow), "ceil": (1, math.ceil), "floor": (1, math.floor),
    "degrees": (1, math.degrees), "radians": (1, math.radians), "acos": (1, math.acos),
    "asin": (1, math.asin), "atan": (1, math.atan), "atan2": (2, math.atan2),
    "cos": (1, math.cos), "sin": (1, math.sin), "tan": (1, math.tan), "mod": (2, math.fmod),
}


def register_functions(connection: sqlite3.Connection) -> None:
    """Put the RegTAP functions (and the ADQL ones SQLite lacks) on a connection."""
    flags = {"deterministic": True}
    connection.create_function("ivo_hasword", 2, ivo_hasword, **flags)
    connection.create_function("ivo_nocasematch", 2, ivo_nocasematch, **flags)
    connection.create_function("ivo_hashlist_has", 2, ivo_hashlist_has, **flags)
    connection.create_function("ivo_interval_overlaps", 4, ivo_interval_overlaps, **flags)
    connection.create_function("adql_ilike", 2, adql_ilike, **flags)
    connection.create_function("adql_truncate", 2, adql_truncate, **flags)
    connection.create_function("adql_rand", 0, adql_rand)
    connection.create_function("cot", 1, _cot, **flags)
    try:
        connection.execute("SELECT sqrt(4), ln(1), mod(3, 2), pi()").fetchall()
    except sqlite3.OperationalError:  # an SQLite built without its math functions
        for name, (arity, function) in _MATH_FALLBACKS.items():
            connection.create_function(name, arity, _null_safe(function), **flags)
        connection.create_function("log", 2, _null_safe(lambda b, x: math.log(x, b)), **flags)


def _null_safe(function: Callable[..., float]) -> Callable[..., float | None]:
    def call(*args: float | None) -> float | None:
        if any(a is None for a in args):
            return None
        try:
            return function(*args)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None

    return call
