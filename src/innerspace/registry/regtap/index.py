"""The RegTAP index: the rr and TAP_SCHEMA tables in SQLite (a file or memory), rebuilt
whole from `Record`s, and queried in ADQL behind a guard.

`load()` fills a fresh database and swaps it in, so queries running meanwhile see either the
old or the new content, never half of each. Each query runs on its own read-only connection
(query_only, an authorizer allowing reads and the known functions only, a time limit). Every
way a query can fail is a `RegTAPError` with a message for the user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from innerspace.registry.errors import RegTAPError, SearchUnavailable
from innerspace.registry.records import Record
from innerspace.registry.regtap.adql import SQLITE_FUNCTIONS, register_functions, translate
from innerspace.registry.regtap.ingest import SkippedRecord, record_rows
from innerspace.registry.regtap.schema import (
    PHYSICAL,
    SCHEMAS,
    Row,
    create_statements,
    index_statements,
    tap_schema_rows,
)

log = logging.getLogger("innerspace.regtap")

SCHEMA_VERSION = 1  # PRAGMA user_version of index files; another value means rebuild


@dataclass(frozen=True)
class LoadReport:
    """What a load did: how many resources it holds, and which records it left out."""

    loaded: int
    skipped: tuple[tuple[str, str], ...]  # (ivoid, why)


@dataclass(frozen=True)
class QueryResult:
    """A query's column names and rows; `overflow` when MAXREC cut it short; `sql` is what
    ran in SQLite."""

    names: list[str]
    rows: list[tuple[Any, ...]]
    overflow: bool
    sql: str


_READ, _SELECT, _FUNCTION = sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION
_RECURSIVE = getattr(sqlite3, "SQLITE_RECURSIVE", 33)
_READABLE = frozenset(PHYSICAL.values())


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None,
               _trigger: str | None) -> int:
    """SELECT, reads (but of SQLite's own tables) and the known functions: nothing else
    runs, whatever the translation let through."""
    if action in (_SELECT, _RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == _READ:  # the known tables, and common table expressions (no real table)
        return sqlite3.SQLITE_DENY if (arg1 or "").lower().startswith("sqlite_") else \
            sqlite3.SQLITE_OK
    if action == _FUNCTION:
        return sqlite3.SQLITE_OK if (arg2 or "").lower() in SQLITE_FUNCTIONS else \
            sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_DENY


class RegTAPIndex:
    """The rr tables in SQLite: `load` rebuilds them, `query` runs ADQL on them.

    `path` is a database file (rebuilt next to itself and renamed into place, so it
    survives restarts) or ":memory:". Queries return at most `hard_maxrec` rows (by default
    `default_maxrec`) and are stopped after `timeout` seconds.
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *,
                 default_maxrec: int = 20_000, hard_maxrec: int = 200_000,
                 timeout: float = 10.0) -> None:
        self.path = None if str(path) == ":memory:" else Path(path)
        self.default_maxrec = default_maxrec
        self.hard_maxrec = hard_maxrec
        self.timeout = timeout
        self.started = datetime.now(UTC)
        self.loaded_at: datetime | None = None
        self._lock = threading.Lock()  # guards the swap of databases against new connections
        self._building = threading.Lock()  # one load at a time
        self._keeper: sqlite3.Connection | None = None  # keeps a memory database alive
        self._uri = ""
        if self.path is not None and self.path.is_file() and self._usable(self.path):
            self._uri = self._file_uri(self.path)
            self.loaded_at = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        else:
            self.load([])

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
        return names >= _READABLE and version == SCHEMA_VERSION

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
            if self.path is None:
                self._load_memory(tables)
            else:
                self._load_file(self.path, tables)
            self.loaded_at = datetime.now(UTC)
        return LoadReport(len(chosen), tuple(skipped))

    def _load_memory(self, tables: dict[str, list[Row]]) -> None:
        uri = f"file:innerspace-regtap-{uuid.uuid4().hex}?mode=memory&cache=shared"
        keeper = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._fill(keeper, tables)
        with self._lock:
            old, self._keeper, self._uri = self._keeper, keeper, uri
        if old is not None:
            old.close()  # the old database lives on while a query still reads it

    def _load_file(self, path: Path, tables: dict[str, list[Row]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        building = path.with_name(f"{path.name}.{os.getpid()}.building")
        building.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(building)) as connection:
            self._fill(connection, tables)
        with self._lock:
            os.replace(building, path)
            self._uri = self._file_uri(path)

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

    def _connect(self) -> sqlite3.Connection:
        with self._lock:  # not while a load swaps (and drops) the database
            connection = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 100_000_000)  # strings, aggregates
        connection.execute("PRAGMA query_only = ON")
        connection.execute("PRAGMA case_sensitive_like = ON")
        register_functions(connection)
        if connection.execute("SELECT 'a' LIKE 'A'").fetchone()[0]:
            raise SearchUnavailable("this SQLite cannot match LIKE case-sensitively")
        connection.set_authorizer(_authorize)
        return connection

    def count(self) -> int:
        """How many resources the index holds."""
        with contextlib.closing(self._connect()) as connection:
            return int(connection.execute("SELECT count(*) FROM rr_resource").fetchone()[0])

    def query(self, adql: str, maxrec: int | None = None) -> QueryResult:
        """Run one ADQL query; at most `maxrec` rows (overflow tells if there were more)."""
        limit = self.default_maxrec if maxrec is None else min(maxrec, self.hard_maxrec)
        if limit < 0:
            raise RegTAPError("MAXREC must not be negative")
        sql = translate(adql, PHYSICAL)  # ADQLError is a RegTAPError
        deadline = time.monotonic() + self.timeout
        with contextlib.closing(self._connect()) as connection:
            connection.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
            try:
                cursor = connection.execute(sql)
                names = [d[0] for d in cursor.description or ()]
                rows = cursor.fetchmany(limit + 1)
            except sqlite3.Error as exc:
                raise RegTAPError(self._explain(exc)) from None
        return QueryResult(names, rows[:limit], len(rows) > limit, sql)

    def _explain(self, exc: sqlite3.Error) -> str:
        message = str(exc)
        if message == "interrupted":
            return f"the query ran longer than the limit of {self.timeout:g} s"
        if message.startswith("no such column: "):
            return f"unknown column {message[len('no such column: '):]}"
        if "not authorized" in message or "prohibited" in message:
            return "the query uses something this service does not allow"
        for physical in sorted(_READABLE, key=len, reverse=True):
            schema, _, table = physical.partition("_")
            message = message.replace(physical, f"{schema}.{table}")
        return message

