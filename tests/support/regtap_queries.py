"""Hostile RegTAP queries, as anonymous callers sent them: what the limit tests send to the
in-process RegTAP service and to an `innerspace serve` process. Each works on any index,
empty or full: they feed on TAP_SCHEMA, which is always there (some 150 rows)."""

from __future__ import annotations

# The reported attack: a string doubled 60 times in a recursive common table expression
# (before the fix: 2 GB more memory and a 976 MB answer).
RECURSIVE_DOUBLING = ("WITH RECURSIVE t(s, n) AS (SELECT 'x', 0 UNION ALL "
                      "SELECT s || s, n + 1 FROM t WHERE n < 60) SELECT n, s FROM t")
# The same without the keyword: SQLite runs a CTE that names itself as recursive anyway.
SELF_REFERENCING = RECURSIVE_DOUBLING.replace("WITH RECURSIVE", "WITH")


def _chain(levels: int) -> str:
    steps = ["s0 AS (SELECT TOP 1 'a' AS x FROM tap_schema.schemas)"]
    steps += [f"s{i} AS (SELECT x || x AS x FROM s{i - 1})" for i in range(1, levels + 1)]
    return "WITH " + ", ".join(steps)


def doubling(levels: int) -> str:
    """A string of 2**levels characters, doubled through `levels` common table expressions
    (no recursion). SQLite would copy each level's expression into the next: 22 levels made
    a program of millions of nodes, 2.5 GB, before the query even ran."""
    return f"{_chain(levels)} SELECT x FROM s{levels}"


def cross_join(tables: int) -> str:
    """Counting the rows of TAP_SCHEMA.columns joined with itself: 150**tables rows."""
    joined = ", ".join(f"tap_schema.columns AS t{i}" for i in range(tables))
    return f"SELECT COUNT(*) AS n FROM {joined}"


def slow_match(levels: int = 17) -> str:
    """ivo_nocasematch (a Python function) of a long pattern against a 2**levels character
    text, over a join: one call alone takes seconds (the matcher's steps are the text's
    length times the pattern's), so only a deadline checked inside the matcher stops it."""
    pattern = "%" + "a" * 150 + "b%"
    return (f"{_chain(levels)} SELECT COUNT(*) AS n FROM s{levels}, tap_schema.columns AS c "
            f"WHERE ivo_nocasematch(x || c.column_name, '{pattern}') = 1")


def wide_rows(columns: int, length: int, rows: int) -> str:
    """`rows` rows (at most 150**2) of `columns` strings of `length` characters (a power
    of two) each."""
    levels = length.bit_length() - 1
    assert 2**levels == length, "length must be a power of two"
    selected = ", ".join(f"x AS c{i}" for i in range(columns))
    return (f"{_chain(levels)} SELECT TOP {rows} {selected} FROM s{levels}, "
            "tap_schema.columns AS a, tap_schema.columns AS b")


def doubled_columns(columns: int, levels: int = 17) -> str:
    """Rows of `columns` strings of 2**(levels + 1) characters, each made in the select
    list (so no common table holds them): the widest a row can get."""
    selected = ", ".join(f"x || x AS c{i}" for i in range(columns))
    return f"{_chain(levels)} SELECT TOP 100 {selected} FROM s{levels}, tap_schema.columns"


def text_rows(character: str, levels: int = 15) -> str:
    """Pairs of strings of 2**levels copies of `character` (non-ASCII ones take 2 to 4
    bytes each in UTF-8, and 2 or 4 in Python), as many as the result may have."""
    steps = [f"s0 AS (SELECT TOP 1 '{character}' AS x FROM tap_schema.schemas)"]
    steps += [f"s{i} AS (SELECT x || x AS x FROM s{i - 1})" for i in range(1, levels + 1)]
    return (f"WITH {', '.join(steps)} SELECT TOP 20000 x AS a, x AS b FROM s{levels}, "
            "tap_schema.columns AS c, tap_schema.columns AS d")


def big_sort(levels: int = 17) -> str:
    """Some 20000 rows of 2**levels characters each, sorted: SQLite's sorter spills them
    to temporary files and merges them back with a buffer per spilled run (a 3.7 GB sort
    held 107 MB of buffers in the service before queries ran in worker processes)."""
    return (f"{_chain(levels)} SELECT x || c.description AS d FROM s{levels}, "
            "tap_schema.columns AS c, tap_schema.columns AS e ORDER BY d")
