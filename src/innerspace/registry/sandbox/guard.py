"""The guard on a RegTAP query's SQLite connection (in its worker process): what may run,
and how far strings, rows and memory may grow.

- What runs: an authorizer allows SELECT, reads of tables but SQLite's own and the known
  functions only (no recursive common table expression, whatever the translation let
  through); `PRAGMA query_only` on top.
- Memory: SQLite's own limits cap every string, blob and row (`max_string_length`; no
  concatenation or ivo_string_agg grows past it), the columns of a result (so one row is at
  most max_columns x max_string_length), function arguments, compound SELECTs, expression
  depth and LIKE patterns (whose matching takes the pattern's length times the text's);
  the page cache and the sorter get `query_memory`, beyond which sorts and temporary tables
  spill to temporary files.
- Time: the progress handler stops the statement once the `Deadline` has passed; the Python
  functions check the same deadline (`functions.register_functions`).
"""

from __future__ import annotations

import sqlite3

from innerspace.registry.sandbox.deadline import Deadline
from innerspace.registry.sandbox.functions import UDF_ARITY, register_functions
from innerspace.registry.sandbox.limits import QueryLimits

# SQLite functions a translated query may call (checked again by the connection's authorizer).
SQLITE_FUNCTIONS = frozenset({
    "abs", "ceil", "ceiling", "degrees", "exp", "floor", "ln", "log", "log10", "pi", "pow",
    "power", "radians", "sqrt", "round", "acos", "asin", "atan", "atan2", "cos", "sin", "tan",
    "cot", "mod", "lower", "upper", "coalesce", "count", "sum", "avg", "min", "max", "like",
    "group_concat", "instr", "adql_ilike", "adql_truncate", "adql_rand", *UDF_ARITY})

PROGRESS_STEPS = 1000  # SQLite virtual machine steps between looks at the deadline

_READ, _SELECT, _FUNCTION = sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION


def authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None,
              _trigger: str | None) -> int:
    """SELECT, reads (but of SQLite's own tables) and the known functions: nothing else
    runs, whatever the translation let through. Recursive common table expressions
    (SQLITE_RECURSIVE) are denied: a query could grow without end in them."""
    if action == _SELECT:
        return sqlite3.SQLITE_OK
    if action == _READ:  # the known tables, and common table expressions (no real table)
        return sqlite3.SQLITE_DENY if (arg1 or "").lower().startswith("sqlite_") else \
            sqlite3.SQLITE_OK
    if action == _FUNCTION:
        return sqlite3.SQLITE_OK if (arg2 or "").lower() in SQLITE_FUNCTIONS else \
            sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_DENY


def sqlite_limits(limits: QueryLimits) -> dict[int, int]:
    """sqlite3 limit category -> its value on a query connection."""
    return {
        sqlite3.SQLITE_LIMIT_LENGTH: limits.max_string_length,
        sqlite3.SQLITE_LIMIT_COLUMN: limits.max_columns,
        sqlite3.SQLITE_LIMIT_FUNCTION_ARG: limits.max_function_args,
        sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: limits.max_compound_selects,
        sqlite3.SQLITE_LIMIT_EXPR_DEPTH: limits.max_expression_depth,
        sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: limits.max_like_pattern,
        sqlite3.SQLITE_LIMIT_ATTACHED: 0,
        sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 0,  # no query parameters
        sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 0,
    }


def guard(connection: sqlite3.Connection, limits: QueryLimits, deadline: Deadline) -> None:
    """Put the limits, the functions, the deadline and the authorizer on a new query
    connection (in that order: the pragmas run before the authorizer forbids them)."""
    for category, value in sqlite_limits(limits).items():
        connection.setlimit(category, value)
    cache_kib = max(limits.query_memory // 1024, 64)
    connection.execute(f"PRAGMA cache_size = -{cache_kib}")  # main pages and the sorter
    connection.execute(f"PRAGMA temp.cache_size = -{cache_kib}")
    connection.execute("PRAGMA temp_store = FILE")
    connection.execute("PRAGMA query_only = ON")
    connection.execute("PRAGMA case_sensitive_like = ON")
    register_functions(connection, deadline)
    connection.set_authorizer(authorize)
    connection.set_progress_handler(deadline.passed, PROGRESS_STEPS)
