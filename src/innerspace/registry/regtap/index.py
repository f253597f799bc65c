"""The RegTAP index: the rr and TAP_SCHEMA tables in an SQLite file (the given one, which
survives restarts, or a private temporary one), kept up to date record by record from
`Record`s (`upsert`, `delete`; `load` replaces everything), and queried in ADQL.

Every change is one transaction on a WAL database (`updates.IndexWriter`), so queries running
meanwhile see the last committed state: whole records, never half of one; they never wait
for a change, nor a change for them. A query is translated here and run
in a worker process (`registry.sandbox`): on a read-only connection with the sandbox's
guard, fetched up to MAXREC rows and `max_result_bytes`, killed if it outlives its time
limit. Every way a query can fail is a `RegTAPError` with a message for the user.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from innerspace.config import RegistryLimits
from innerspace.registry.errors import RegTAPError, SearchUnavailable
from innerspace.registry.records import Record
from innerspace.registry.regtap.adql import translate
from innerspace.registry.regtap.gate import QueryGate
from innerspace.registry.regtap.schema import PHYSICAL
from innerspace.registry.regtap.updates import OWN, IndexWriter, LoadReport
from innerspace.registry.sandbox.limits import QueryLimits
from innerspace.registry.sandbox.pool import QueryFailed, QueryPool

log = logging.getLogger("innerspace.regtap")

__all__ = ["OWN", "LoadReport", "QueryResult", "RegTAPIndex"]


@dataclass(frozen=True)
class QueryResult:
    """A query's column names and rows; `overflow` when MAXREC or max_result_bytes cut it
    short; `sql` is what ran in SQLite."""

    names: list[str]
    rows: list[tuple[Any, ...]]
    overflow: bool
    sql: str


READABLE = frozenset(PHYSICAL.values())


def query_limits(limits: RegistryLimits) -> QueryLimits:
    """What a query's worker needs of the registry settings."""
    return QueryLimits(**{f.name: getattr(limits, f.name) for f in fields(QueryLimits)})


class RegTAPIndex:
    """The rr tables in SQLite: `upsert`, `delete` and `load` change them, `query` runs
    ADQL on them.

    `path` is a database file (kept across restarts, rebuilt empty when its schema is not
    today's), or ":memory:" for a temporary file of this object's own (removed with it).
    `limits` bound each query (the registry settings); `gate` lets only so many run at once
    (the HTTP side takes a turn from it), as many as `pool` has workers.
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:",
                 limits: RegistryLimits | None = None) -> None:
        if str(path) == ":memory:":
            # Queries run in other processes: a memory database would be out of their reach.
            private = tempfile.mkdtemp(prefix="innerspace-regtap-")
            weakref.finalize(self, shutil.rmtree, private, ignore_errors=True)
            path = Path(private) / "regtap.sqlite"
        self.path = Path(path)
        self.limits = limits or RegistryLimits()
        # A query keeps its turn at most its time limit: when to come back.
        self.gate = QueryGate(self.limits.max_concurrent_queries, self.limits.query_wait,
                              retry_after=math.ceil(self.limits.query_timeout))
        self.pool = QueryPool(query_limits(self.limits), self.limits.max_concurrent_queries)
        weakref.finalize(self, self.pool.close)
        self.started = datetime.now(UTC)
        self._writing = threading.Lock()  # one change at a time
        self.writer = IndexWriter(self.path, self.limits.max_string_length)
        # Read-only, but not immutable: the file changes under the readers (WAL).
        self._uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        self.loaded_at: datetime | None = datetime.now(UTC) if self.writer.rebuilt else \
            datetime.fromtimestamp(self.path.stat().st_mtime, UTC)

    @property
    def default_maxrec(self) -> int:
        return self.limits.default_maxrec

    @property
    def hard_maxrec(self) -> int:
        return self.limits.hard_maxrec

    @property
    def timeout(self) -> float:
        return self.limits.query_timeout

    @property
    def rebuilt(self) -> bool:
        """Whether opening the file found no index of today's schema (it starts empty)."""
        return self.writer.rebuilt

    # -- changing --------------------------------------------------------------------------

    def load(self, records: Iterable[Record]) -> LoadReport:
        """Replace the whole content with these records (deleted and inactive ones are
        left out), forgetting every harvest. Deterministic: the same records give the same
        tables."""
        with self._writing:
            report = self.writer.load(records)
            self.loaded_at = datetime.now(UTC)
        return report

    def upsert(self, records: Iterable[Record], origin: str = OWN) -> LoadReport:
        """Replace these records, all their rows in every table, in one transaction (the
        latest update of an ivoid wins; deleted, inactive and unusable ones are removed).
        `origin` is where they come from: OWN, or the OAI-PMH endpoint harvested."""
        with self._writing:
            report = self.writer.upsert(records, origin)
            self.loaded_at = datetime.now(UTC)
        return report

    def delete(self, ivoids: Iterable[str]) -> int:
        """Remove these records in one transaction; how many the index held."""
        with self._writing:
            removed = self.writer.delete(ivoids)
            self.loaded_at = datetime.now(UTC)
        return removed

    # -- querying --------------------------------------------------------------------------

    def count(self) -> int:
        """How many resources the index holds (a query of our own: no worker needed)."""
        with contextlib.closing(sqlite3.connect(self._uri, uri=True)) as connection:
            return int(connection.execute("SELECT count(*) FROM rr_resource").fetchone()[0])

    def query(self, adql: str, maxrec: int | None = None) -> QueryResult:
        """Run one ADQL query; at most `maxrec` rows and max_result_bytes (overflow tells if
        there were more)."""
        limit = self.default_maxrec if maxrec is None else min(maxrec, self.hard_maxrec)
        if limit < 0:
            raise RegTAPError("MAXREC must not be negative")
        started = time.monotonic()
        sql = translate(adql, PHYSICAL)  # ADQLError is a RegTAPError
        # The translation (up to a second or two for the longest queries) counts too.
        left = self.timeout - (time.monotonic() - started)
        try:
            if left <= 0:
                raise QueryFailed("interrupted", expired=True)
            names, rows, overflow = self.pool.run(self._uri, sql, limit, left)
        except QueryFailed as failure:
            if failure.unavailable:
                raise SearchUnavailable(failure.message) from None
            raise RegTAPError(self._explain(failure)) from None
        return QueryResult(names, [tuple(row) for row in rows], overflow, sql)

    def close(self) -> None:
        """End the query workers (they also end with this object, or the process)."""
        self.pool.close()

    def _explain(self, failure: QueryFailed) -> str:
        message = failure.message
        limits = self.limits
        if failure.expired or message == "interrupted":
            return f"the query ran longer than the limit of {self.timeout:g} s"
        if failure.memory:
            return (f"the query needs more memory than the limit of "
                    f"{limits.query_process_memory} bytes of a query")
        if message in ("database or disk is full", "disk I/O error"):
            return (f"the query's temporary files grew past the limit of "
                    f"{limits.query_temp_size} bytes (or the disk is full)")
        if message.startswith("no such column: "):
            return f"unknown column {message[len('no such column: '):]}"
        if "not authorized" in message or "prohibited" in message:
            return "the query uses something this service does not allow"
        if message == "string or blob too big":
            return (f"a string or row of the query grew longer than the limit of "
                    f"{limits.max_string_length} bytes")
        if message.startswith("too many columns"):
            return f"the query has more than the limit of {limits.max_columns} columns"
        if message == "parser stack overflow":
            return "the query is nested too deeply"
        if message == "LIKE or GLOB pattern too complex":
            return (f"a LIKE pattern is longer than the limit of {limits.max_like_pattern} "
                    "characters")
        for physical in sorted(READABLE, key=len, reverse=True):
            schema, _, table = physical.partition("_")
            message = message.replace(physical, f"{schema}.{table}")
        return message
