"""The functions a RegTAP query calls that SQLite does not have: the RegTAP ones
(ivo_hasword, ivo_nocasematch, ivo_hashlist_has, ivo_interval_overlaps), ADQL's ILIKE for
non-ASCII patterns, TRUNCATE, RAND and COT, and the math functions of an SQLite built
without them.

They are Python, so SQLite's progress handler does not run while they do: each one checks
the query's `Deadline` before it starts, and the one whose time grows with the product of
its inputs' lengths (the LIKE matcher) checks it inside its loop too. Every other one takes
time linear in its input, which the connection's string length limit bounds.
"""

from __future__ import annotations

import math
import random
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from innerspace.registry.sandbox.deadline import Deadline

# The RegTAP user-defined functions: name -> number of arguments.
UDF_ARITY = {"ivo_hasword": 2, "ivo_nocasematch": 2, "ivo_hashlist_has": 2,
             "ivo_string_agg": 2, "ivo_interval_overlaps": 4}

WORD = re.compile(r"[^\W_]+")
_LIKE_CHECK_EVERY = 4096  # matcher steps between looks at the deadline (~1 ms)


def words(text: str) -> set[str]:
    """The words of `text` (runs of letters and digits), lower-cased."""
    return {word.lower() for word in WORD.findall(text)}


def ivo_hasword(haystack: str | None, needle: str | None) -> int:
    """1 if every word of `needle` is a word of `haystack` (case-insensitive; words are runs
    of letters and digits), else 0. Set membership, in time linear in both texts (a regular
    expression search per word would be their product, in C, beyond the deadline's reach)."""
    if haystack is None or needle is None:
        return 0
    wanted = words(str(needle))
    return int(bool(wanted) and wanted <= words(str(haystack)))


def like_match(text: str, pattern: str, deadline: Deadline | None = None) -> bool:
    """SQL LIKE (`%` any run, `_` one character), in time linear in len(text) * len(pattern):
    the greedy two-pointer matcher, never a backtracking regular expression (a public query
    must not be able to pin a CPU). That product can still be large, so the loop looks at
    `deadline` every few thousand steps."""
    t = p = 0
    star_p, star_t = -1, 0
    steps = 0
    while t < len(text):
        steps += 1
        if deadline is not None and steps % _LIKE_CHECK_EVERY == 0:
            deadline.check()
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


def ivo_nocasematch(value: str | None, pattern: str | None,
                    deadline: Deadline | None = None) -> int:
    """1 if `value` matches the LIKE `pattern` ignoring case, else 0 (also for NULLs)."""
    if value is None or pattern is None:
        return 0
    return int(like_match(str(value).casefold(), str(pattern).casefold(), deadline))


def adql_ilike(value: str | None, pattern: str | None,
               deadline: Deadline | None = None) -> int | None:
    """The ILIKE operator: as ivo_nocasematch, but NULL in, NULL out."""
    if value is None or pattern is None:
        return None
    return ivo_nocasematch(value, pattern, deadline)


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


_MATH_FALLBACKS: dict[str, tuple[int, Callable[..., float]]] = {
    "sqrt": (1, math.sqrt), "ln": (1, math.log), "log10": (1, math.log10),
    "exp": (1, math.exp), "pi": (0, lambda: math.pi), "power": (2, math.pow),
    "pow": (2, math.pow), "ceil": (1, math.ceil), "floor": (1, math.floor),
    "degrees": (1, math.degrees), "radians": (1, math.radians), "acos": (1, math.acos),
    "asin": (1, math.asin), "atan": (1, math.atan), "atan2": (2, math.atan2),
    "cos": (1, math.cos), "sin": (1, math.sin), "tan": (1, math.tan), "mod": (2, math.fmod),
}


def register_functions(connection: sqlite3.Connection, deadline: Deadline) -> None:
    """Put the RegTAP functions (and the ADQL ones SQLite lacks) on a connection, each
    checking `deadline` before it runs."""
    def add(name: str, arity: int, function: Callable[..., Any],
            deterministic: bool = True) -> None:
        def guarded(*args: Any) -> Any:
            deadline.check()
            return function(*args)

        connection.create_function(name, arity, guarded, deterministic=deterministic)

    add("ivo_hasword", 2, ivo_hasword)
    add("ivo_nocasematch", 2, lambda v, p: ivo_nocasematch(v, p, deadline))
    add("ivo_hashlist_has", 2, ivo_hashlist_has)
    add("ivo_interval_overlaps", 4, ivo_interval_overlaps)
    add("adql_ilike", 2, lambda v, p: adql_ilike(v, p, deadline))
    add("adql_truncate", 2, adql_truncate)
    add("adql_rand", 0, adql_rand, deterministic=False)
    add("cot", 1, _null_safe(lambda x: 1.0 / math.tan(x)))
    try:
        connection.execute("SELECT sqrt(4), ln(1), mod(3, 2), pi()").fetchall()
    except sqlite3.OperationalError:  # an SQLite built without its math functions
        for name, (arity, function) in _MATH_FALLBACKS.items():
            add(name, arity, _null_safe(function))
        add("log", 2, _null_safe(lambda b, x: math.log(x, b)))


def _null_safe(function: Callable[..., float]) -> Callable[..., float | None]:
    def call(*args: float | None) -> float | None:
        if any(a is None for a in args):
            return None
        try:
            return function(*args)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None

    return call
