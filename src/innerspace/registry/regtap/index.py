"""The RegTAP index: the rr and TAP_SCHEMA tables in an SQLite file (the given one, which
survives restarts, or a private temporary one), rebuilt whole from `Record`s, and queried
in ADQL.

`load()` fills a fresh database and renames it into place, so queries running meanwhile see
either the old or the new content, never half of each. A query is translated here and run
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
from innerspace.registry.regtap.ingest import SkippedRecord, record_rows
from innerspace.registry.regtap.schema import (
    PHYSICAL,
    SCHEMAS,
    Row,
    create_statements,
    index_statements,
    tap_schema_rows,
)
from innerspace.registry.sandbox.limits import QueryLimits
from innerspace.registry.sandbox.pool import QueryFailed, QueryPool

log = logging.getLogger("innerspace.regtap")

SCHEMA_VERSION = 1  # PRAGMA user_version of index files; another value means rebuild


@dataclass(frozen=True)
class LoadReport:
    """What a load did: how many resources it holds, and which records it left out."""

    loaded: int
    skipped: tuple[tuple[str, str], ...]  # (ivoid, why)


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
    """The rr tables in SQLite: `load` rebuilds them, `query` runs ADQL on them.

    `path` is a database file (rebuilt next to itself and renamed into place, so it
    survives restarts), or ":memory:" for a temporary file of this object's own (removed
    with it). `limits` bound each query (the registry settings); `gate` lets only so many
    run at once (the HTTP side takes a turn from it), as many as `pool` has workers.
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
        self.loaded_at: datetime | None = None
        self._building = threading.Lock()  # one load at a time
        self._uri = self._file_uri(self.path)
        if self.path.is_file() and self._usable(self.path):
            self.loaded_at = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        else:
            self.load([])

    @property
    def default_maxrec(self) -> int:
        return self.limits.default_maxrec

    @property
    def hard_maxrec(self) -> int:
        return self.limits.hard_maxrec

    @property
    def timeout(self) -> float:
        return self.limits.query_timeout

    @staticmethod
    def _file_uri(path: Path) -> str:
        return f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"

    @staticmethod
    def _usable(path: Path) -> bool:
        try:
            with contextlib.closing(sqlite3.connect(RegTAPIndex._file_uri(path), uri=True)) as c:
                names = {r[0] for r in c.execute("SELECT name FROM sqlite_master")}
                version = c.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error:
            return False
        return names >= READABLE and version == SCHEMA_VERSION

    # -- building --------------------------------------------------------------------------

    def load(self, records: Iterable[Record]) -> LoadReport:
        """Replace the whole content with these records (deleted and inactive ones are
        left out). Deterministic: the same records give the same tables."""
        tables: dict[str, list[Row]] = {}
        skipped: list[tuple[str, str]] = []
        chosen: dict[str, tuple[Record, dict[str, list[Row]]]] = {}
        for record in sorted(records, key=lambda r: (r.ivoid.lower(), r.updated)):
            try:
                rows = record_rows(record)
                self._check_lengths(rows)
            except SkippedRecord as exc:
                skipped.append((record.ivoid, str(exc)))
                continue
            except Exception as exc:  # a broken record must not stop the others
                log.warning("RegTAP: record %s is not usable: %s", record.ivoid, exc)
                skipped.append((record.ivoid, f"unusable: {exc}"))
                continue
            chosen[rows["resource"][0]["ivoid"]] = (record, rows)  # the latest update wins
        for ivoid in sorted(chosen):
            for table, table_rows in chosen[ivoid][1].items():
                tables.setdefault(table, []).extend(table_rows)
        with self._building:
            self._load_file(self.path, tables)
            self.loaded_at = datetime.now(UTC)
        return LoadReport(len(chosen), tuple(skipped))

    def _check_lengths(self, rows: dict[str, list[Row]]) -> None:
        """A value longer than queries may read would make every query that touches it
        fail ("string or blob too big"): such a record is left out, not indexed."""
        limit = self.limits.max_string_length
        for table, table_rows in rows.items():
            for row in table_rows:
                for column, value in row.items():
                    if isinstance(value, str | bytes) and len(
                            value.encode() if isinstance(value, str) else value) > limit:
                        raise SkippedRecord(f"its {table}.{column} is longer than the "
                                            f"limit of {limit} bytes")

    def _load_file(self, path: Path, tables: dict[str, list[Row]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        building = path.with_name(f"{path.name}.{os.getpid()}.building")
        building.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(building)) as connection:
            self._fill(connection, tables)
        os.replace(building, path)  # a query under way reads the file it opened

    @staticmethod
    def _fill(connection: sqlite3.Connection, tables: dict[str, list[Row]]) -> None:
        with connection:
            for statement in create_statements():
                connection.execute(statement)
            contents = {f"rr_{name}": rows for name, rows in tables.items()}
            contents |= {f"tap_schema_{name}": rows for name, rows in tap_schema_rows().items()}
            for (schema, name), physical in PHYSICAL.items():
                table = next(t for t in SCHEMAS[schema][2] if t.name == name)
                names = [c.name for c in table.columns]
                connection.executemany(
                    f"INSERT INTO {physical} ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' * len(names))})",
                    [tuple(row.get(n) for n in names) for row in contents.get(physical, ())])
            for statement in index_statements():
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("ANALYZE")

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
