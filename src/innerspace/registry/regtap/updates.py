"""Writing the RegTAP index file: whole records in and out, one transaction at a time.

The file is an SQLite database in WAL mode. Every change -- records replaced (all their
rows in every rr table), records deleted, or everything replaced at once -- is one
transaction, and the query workers, which open the file read-only for each query, see the
last committed state: whole records, never half of one, and never a wait for a writer.

Next to the rr and TAP_SCHEMA tables the file keeps its own bookkeeping, out of ADQL's reach
(the translation knows only the tables of `schema.PHYSICAL`):

- `index_meta`: the digest of the schema the file was built with; any other digest (a new
  column, index or TAP_SCHEMA row, or a new `SCHEMA_VERSION`) rebuilds the file empty;
- `index_origin`: where each indexed record came from ("" for this data centre's own, else
  the OAI-PMH endpoint it was harvested from) and its authority;
- `index_harvest`: per harvested endpoint, what the next harvest needs (its watermark), as
  JSON. It lives in the same file as the records it describes: a rebuilt file forgets both,
  and the next harvest is a full one;
- `index_words` (`words`): the words of the texts ivo_hasword searches, changed in the
  same transactions as the rows they come from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innerspace import vocabulary
from innerspace.registry.records import Record
from innerspace.registry.regtap import words
from innerspace.registry.regtap.ingest import SkippedRecord, record_rows
from innerspace.registry.regtap.schema import (
    PHYSICAL,
    TABLES,
    Row,
    create_statements,
    index_statements,
    tap_schema_rows,
)

log = logging.getLogger("innerspace.regtap")

SCHEMA_VERSION = 3  # PRAGMA user_version of index files; another value means rebuild
OWN = ""  # the origin of this data centre's own records

BOOKKEEPING = (
    "CREATE TABLE index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE index_origin (ivoid TEXT PRIMARY KEY, origin TEXT NOT NULL, "
    "authority TEXT)",
    "CREATE INDEX index_origin_by_origin ON index_origin (origin, authority)",
    "CREATE TABLE index_harvest (endpoint TEXT PRIMARY KEY, state TEXT NOT NULL)",
    *words.STATEMENTS,
)
RR = tuple(physical for (schema, _), physical in PHYSICAL.items() if schema == "rr")
# Past this many records changed since the last ANALYZE (and half the index: a growing index
# is analysed as it doubles, a few times in all), the planner's statistics are renewed.
ANALYZE_AFTER = 1000
# The page cache of a change: the word index takes its rows in word order, not record order;
# with a few MiB of cache, a large change spends its time rereading and rewriting pages.
WRITER_CACHE_KIB = 64 * 1024


def schema_digest() -> str:
    """What the file's structure and TAP_SCHEMA content are made of."""
    parts = [str(SCHEMA_VERSION), words.UNICODE, *create_statements(), *index_statements(),
             *BOOKKEEPING, json.dumps(tap_schema_rows(), sort_keys=True, default=str)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class LoadReport:
    """What a change did: how many records it indexed, and which it left out (ivoid, why)."""

    loaded: int
    skipped: tuple[tuple[str, str], ...]  # (ivoid, why)


def _columns(physical: str) -> list[str]:
    key = next(k for k, p in PHYSICAL.items() if p == physical)
    return [c.name for c in TABLES[key].columns]


def _insert(connection: sqlite3.Connection, physical: str, rows: list[Row]) -> None:
    names = _columns(physical)
    connection.executemany(
        f"INSERT INTO {physical} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [tuple(row.get(n) for n in names) for row in rows])


class IndexWriter:
    """The one writer of the index file at `path`; `max_string_length` is the longest
    value queries may read (a record with a longer one is left out)."""

    def __init__(self, path: Path, max_string_length: int) -> None:
        self.path = path
        self.max_string_length = max_string_length
        self._since_analyze = 0
        self.rebuilt = self._prepare()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one change; its `with` block is one transaction."""
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def _current(self) -> bool:
        """Whether the file is an index of today's schema."""
        try:
            with contextlib.closing(sqlite3.connect(self.path)) as connection:
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                digest = connection.execute(
                    "SELECT value FROM index_meta WHERE key = 'schema'").fetchone()
        except sqlite3.Error:
            return False
        return version == SCHEMA_VERSION and digest is not None and digest[0] == schema_digest()

    def _prepare(self) -> bool:
        """Make the file an index of today's schema; True if it had to be (re)built empty."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_file() and self._current():
            return False
        try:
            self._rebuild()
        except sqlite3.DatabaseError:  # not a database at all: start afresh
            log.warning("RegTAP: %s is not an SQLite database; it is replaced", self.path)
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            self._rebuild()
        return True

    def _rebuild(self) -> None:
        """Drop whatever the file holds and create today's tables, empty, in one
        transaction: readers see the old content until it commits."""
        with self._connect() as connection:
            old = connection.execute("SELECT type, name FROM sqlite_master WHERE type IN "
                                     "('table', 'view') AND name NOT LIKE 'sqlite_%'").fetchall()
            for kind, name in old:
                connection.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
            for statement in (*create_statements(), *index_statements(), *BOOKKEEPING):
                connection.execute(statement)
            for name, rows in tap_schema_rows().items():
                _insert(connection, f"tap_schema_{name}", rows)
            connection.execute("INSERT INTO index_meta VALUES ('schema', ?)",
                               (schema_digest(),))
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.analyze()

    # -- records ---------------------------------------------------------------------------

    def _rows(self, records: Iterable[Record]
              ) -> tuple[dict[str, dict[str, list[Row]]], list[str], list[tuple[str, str]]]:
        """The rows of each usable record by its ivoid (the latest update of an ivoid
        wins), the ivoids of the records that are not usable, and why."""
        chosen: dict[str, dict[str, list[Row]]] = {}
        dropped: list[str] = []
        skipped: list[tuple[str, str]] = []
        for record in sorted(records, key=lambda r: (r.ivoid.lower(), r.updated)):
            try:
                rows = record_rows(record)
                self._check_lengths(rows)
            except SkippedRecord as exc:
                reason = str(exc)
            except Exception as exc:  # a broken record must not stop the others
                log.warning("RegTAP: record %s is not usable: %s", record.ivoid, exc)
                reason = f"unusable: {exc}"
            else:
                ivoid = rows["resource"][0]["ivoid"]
                chosen[ivoid] = rows
                if ivoid != record.ivoid.lower():
                    dropped.append(record.ivoid.lower())
                continue
            chosen.pop(record.ivoid.lower(), None)  # its latest state is not indexable
            dropped.append(record.ivoid.lower())
            skipped.append((record.ivoid, reason))
        return chosen, dropped, skipped

    def _check_lengths(self, rows: dict[str, list[Row]]) -> None:
        """A value longer than queries may read would make every query that touches it
        fail ("string or blob too big"): such a record is left out, not indexed."""
        limit = self.max_string_length
        for table, table_rows in rows.items():
            for row in table_rows:
                for column, value in row.items():
                    if isinstance(value, str | bytes) and len(
                            value.encode() if isinstance(value, str) else value) > limit:
                        raise SkippedRecord(f"its {table}.{column} is longer than the "
                                            f"limit of {limit} bytes")

    @staticmethod
    def _remove(connection: sqlite3.Connection, ivoids: Iterable[str]) -> int:
        """Delete every row of these records (those indexed only: a look-up each spares
        the others fourteen deletes)."""
        present = [(i,) for i in dict.fromkeys(ivoids) if connection.execute(
            "SELECT 1 FROM index_origin WHERE ivoid = ?", (i,)).fetchone()]
        for source in words.SOURCES:  # their words, from the texts about to go
            select = f"SELECT rowid, {', '.join(words.columns(source))} FROM {source} " \
                     "WHERE ivoid = ?"
            connection.executemany(words.DELETE_STATEMENT, words.rows(source, [
                row for (ivoid,) in present for row in connection.execute(select, (ivoid,))]))
        for physical in RR:
            connection.executemany(f"DELETE FROM {physical} WHERE ivoid = ?", present)
        connection.executemany("DELETE FROM index_origin WHERE ivoid = ?", present)
        return len(present)

    @staticmethod
    def _add(connection: sqlite3.Connection, chosen: dict[str, dict[str, list[Row]]],
             origin: str, everything: bool = False) -> None:
        """Insert the rows of these records (`everything`: they are the whole index)."""
        tables: dict[str, list[Row]] = {}
        for ivoid in sorted(chosen):
            for table, rows in chosen[ivoid].items():
                tables.setdefault(f"rr_{table}", []).extend(rows)
        for physical, rows in tables.items():
            _insert(connection, physical, rows)
        for source in words.SOURCES:
            select = f"SELECT rowid, {', '.join(words.columns(source))} FROM {source}"
            found = connection.execute(select).fetchall() if everything else [
                row for ivoid in sorted(chosen)
                for row in connection.execute(f"{select} WHERE ivoid = ?", (ivoid,))]
            connection.executemany(words.INSERT_STATEMENT, words.rows(source, found))
        connection.executemany(
            "INSERT INTO index_origin (ivoid, origin, authority) VALUES (?, ?, ?)",
            [(ivoid, origin, vocabulary.authority_of(ivoid)) for ivoid in sorted(chosen)])

    def upsert(self, records: Iterable[Record], origin: str = OWN) -> LoadReport:
        """Replace these records (all their rows in every rr table) in one transaction;
        deleted, inactive and unusable ones are removed."""
        chosen, dropped, skipped = self._rows(records)
        with self._connect() as connection:
            self._remove(connection, [*chosen, *dropped])
            self._add(connection, chosen, origin)
        self._changed(len(chosen) + len(dropped))
        return LoadReport(len(chosen), tuple(skipped))

    def delete(self, ivoids: Iterable[str]) -> int:
        """Remove these records in one transaction; how many were indexed."""
        with self._connect() as connection:
            removed = self._remove(connection, [i.lower() for i in ivoids])
        self._changed(removed)
        return removed

    def load(self, records: Iterable[Record], origin: str = OWN) -> LoadReport:
        """Replace the whole content (and forget every harvest) in one transaction."""
        chosen, _, skipped = self._rows(records)
        with self._connect() as connection:
            for physical in (*RR, "index_origin", "index_harvest",
                             words.TABLE):
                connection.execute(f"DELETE FROM {physical}")
            self._add(connection, chosen, origin, everything=True)
        self.analyze()
        return LoadReport(len(chosen), tuple(skipped))

    def _changed(self, count: int) -> None:
        self._since_analyze += count
        if self._since_analyze >= ANALYZE_AFTER and self._since_analyze * 2 >= self.count():
            self.analyze()

    def analyze(self) -> None:
        """Renew the planner's statistics (in their own short transaction)."""
        with self._connect() as connection:
            connection.execute("ANALYZE")
        self._since_analyze = 0

    # -- bookkeeping -----------------------------------------------------------------------

    def _read(self, sql: str, *args: Any) -> list[Any]:
        with contextlib.closing(sqlite3.connect(self.path)) as connection:
            return connection.execute(sql, args).fetchall()

    def count(self) -> int:
        return int(self._read("SELECT count(*) FROM index_origin")[0][0])

    def origins(self) -> dict[str, int]:
        """How many records each origin has in the index."""
        return dict(self._read("SELECT origin, count(*) FROM index_origin GROUP BY origin"))

    def ivoids(self, origin: str, authorities: Iterable[str] | None = None) -> set[str]:
        """The records of `origin` (only those under other `authorities` if given)."""
        rows = self._read("SELECT ivoid, authority FROM index_origin WHERE origin = ?", origin)
        keep = None if authorities is None else set(authorities)
        return {ivoid for ivoid, authority in rows if keep is None or authority not in keep}

    def harvest_state(self, endpoint: str) -> dict[str, Any] | None:
        found = self._read("SELECT state FROM index_harvest WHERE endpoint = ?", endpoint)
        return dict(json.loads(found[0][0])) if found else None

    def set_harvest_state(self, endpoint: str, state: dict[str, Any] | None) -> None:
        """Keep (or, with None, forget) what the next harvest of `endpoint` needs."""
        with self._connect() as connection:
            connection.execute("DELETE FROM index_harvest WHERE endpoint = ?", (endpoint,))
            if state is not None:
                connection.execute("INSERT INTO index_harvest VALUES (?, ?)",
                                   (endpoint, json.dumps(state, sort_keys=True)))

    def harvested_endpoints(self) -> set[str]:
        """Every endpoint with records or a harvest state in the index."""
        return ({e for (e,) in self._read("SELECT endpoint FROM index_harvest")}
                | {o for o in self.origins() if o != OWN})
