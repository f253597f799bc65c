"""A query's result read row by row (SQLite makes each row only when asked) up to its rows
and bytes: what the service then holds and writes as a VOTable stays within
`max_result_bytes`, whatever the query asked for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# What a result costs besides its text, in bytes counted against max_result_bytes: each
# value and each row also cost memory and, above all, time to write as a VOTable (astropy
# takes some 10 us per value and per row), and a result of many small values must not take
# seconds to write once its query is done.
VALUE_OVERHEAD = ROW_OVERHEAD = 64


def value_bytes(value: Any) -> int:
    """What one value counts against max_result_bytes, besides VALUE_OVERHEAD: a text 2
    bytes per character (what BINARY writes for a unicodeChar column, which one non-ASCII
    value elsewhere in the column makes of it), or its UTF-8 size if that is more (what
    TABLEDATA and CSV write); bytes their length; a number 8."""
    if isinstance(value, str):
        return 2 * len(value) if value.isascii() else max(
            2 * len(value), len(value.encode("utf-8", "replace")))
    return len(value) if isinstance(value, bytes) else 8


def row_bytes(row: tuple[Any, ...]) -> int:
    """What one result row counts against max_result_bytes."""
    return ROW_OVERHEAD + sum(value_bytes(value) + VALUE_OVERHEAD for value in row)


def fetch(cursor: Iterable[tuple[Any, ...]], max_rows: int, max_bytes: int
          ) -> tuple[list[tuple[Any, ...]], bool]:
    """Rows up to `max_rows` and `max_bytes`; True when the result went on beyond them."""
    rows: list[tuple[Any, ...]] = []
    budget = max_bytes
    for row in cursor:
        budget -= row_bytes(row)
        if len(rows) == max_rows or budget < 0:
            return rows, True
        rows.append(row)
    return rows, False
