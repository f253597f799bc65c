"""The query sandbox on its own: the deadline inside the RegTAP functions, the guard on a
connection (recursion denied, strings bounded, time up), results cut by rows and bytes, the
messages with a deadline, and the pool killing a worker that never answers."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time

import pytest

from innerspace.registry.sandbox import frames
from innerspace.registry.sandbox.deadline import Deadline, QueryTimeout
from innerspace.registry.sandbox.fetch import ROW_OVERHEAD, VALUE_OVERHEAD, fetch, value_bytes
from innerspace.registry.sandbox.functions import ivo_hasword, like_match
from innerspace.registry.sandbox.guard import guard
from innerspace.registry.sandbox.limits import QueryLimits
from innerspace.registry.sandbox.pool import KILL_GRACE, QueryFailed, QueryPool

LIMITS = QueryLimits(query_timeout=1, max_string_length=4096, max_columns=40)


def guarded(deadline: Deadline) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    guard(connection, LIMITS, deadline)
    return connection


def test_the_matcher_checks_the_deadline_while_it_runs() -> None:
    text, pattern = "a" * 200_000, "%" + "a" * 100 + "b%"
    assert like_match("abcabd", "%ab_") and not like_match(text[:1000], pattern)
    passed = Deadline(0)
    with pytest.raises(QueryTimeout):
        like_match(text, pattern, passed)
    assert passed.expired


def test_hasword_is_a_word_set_test() -> None:
    assert ivo_hasword("Gamma-ray bursts, quasars", "RAY bursts") == 1
    assert ivo_hasword("Gamma-ray bursts", "burst") == 0
    assert ivo_hasword("a" * 100_000, "a" * 50_000) == 0  # linear, not a search per offset
    assert ivo_hasword("x", "") == 0 and ivo_hasword(None, "x") == 0


def test_the_guard_denies_recursion_and_bounds_strings_and_time() -> None:
    with contextlib.closing(guarded(Deadline(60))) as connection:
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            connection.execute("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
                               "FROM c) SELECT count(*) FROM c").fetchall()
        with pytest.raises(sqlite3.DataError, match="too big"):
            connection.execute(f"SELECT x || x || x || x || x FROM (SELECT '{'a' * 1000}' "
                               "AS x)").fetchall()
        with pytest.raises(sqlite3.OperationalError, match="compound SELECT"):
            connection.execute("SELECT 1" + " UNION ALL SELECT 1" * 30).fetchall()
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            connection.execute("SELECT load_extension('x')").fetchall()
        assert connection.execute("SELECT ivo_hasword('a b', 'b')").fetchone() == (1,)
    with contextlib.closing(guarded(Deadline(0))) as late, \
            pytest.raises(sqlite3.OperationalError):
        late.execute("SELECT ivo_nocasematch('a', 'a')").fetchall()


def test_results_end_at_rows_or_bytes() -> None:
    rows = [("x" * 100, 1)] * 10
    per_row = ROW_OVERHEAD + 2 * VALUE_OVERHEAD + 200 + 8
    assert fetch(rows, 10, 10**9) == (rows, False)
    assert fetch(rows, 3, 10**9) == (rows[:3], True)
    assert fetch(rows, 10, 4 * per_row) == (rows[:4], True)
    assert fetch(rows, 0, 10**9) == ([], True) and fetch([], 0, 0) == ([], False)
    assert value_bytes("abc") == 6 and value_bytes("€") == 3 and value_bytes(b"ab") == 2
    assert value_bytes(1.5) == 8 and value_bytes(None) == 8


def test_a_message_that_does_not_come_in_time_is_no_answer() -> None:
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(frames.NoAnswer, match="in time"):
            frames.read_until(read_end, time.monotonic() + 0.05, 1024)
        os.write(write_end, frames.HEADER.pack(10**9))
        with pytest.raises(frames.NoAnswer, match="more than"):
            frames.read_until(read_end, time.monotonic() + 5, 1024)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_worker_that_never_answers_is_killed() -> None:
    silent = [sys.executable, "-c", "import time; time.sleep(600)"]
    pool = QueryPool(QueryLimits(query_timeout=0.5), 1, command=silent)
    started = time.monotonic()
    with pytest.raises(QueryFailed) as failed:
        pool.run("file:x", "SELECT 1", 10)
    assert failed.value.expired
    assert time.monotonic() - started < 0.5 + KILL_GRACE + 5
    dying = [sys.executable, "-c", "import sys; sys.stdin.buffer.read(8)"]
    with pytest.raises(QueryFailed) as crashed:
        QueryPool(QueryLimits(query_timeout=30), 1, command=dying).run("file:x", "x", 1, 30)
    assert crashed.value.memory and not crashed.value.expired
