"""The RegTAP index: loads are deterministic and replace everything, in one transaction under
running queries; a file index survives restarts; queries stop at the time limit."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from innerspace.config import RegistryLimits
from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPError, RegTAPIndex
from tests.support.regtap_live import dump, rows
from tests.support.regtap_samples import SIA_IVOID, TAP_IVOID, UPDATED, UWS_IVOID, sample_records


def test_load_is_deterministic_and_replaces_everything(index: RegTAPIndex) -> None:
    again = RegTAPIndex()
    again.load(list(reversed(sample_records())))
    assert dump(again) == dump(index)
    uws = next(r for r in sample_records() if r.ivoid == UWS_IVOID)
    report = again.load([uws, Record("ivo://example.org/bad", b"<not xml", UPDATED)])
    assert report.loaded == 1 and report.skipped[0][0] == "ivo://example.org/bad"
    assert rows(again, "SELECT ivoid FROM rr.resource") == [(UWS_IVOID,)]
    assert rows(again, "SELECT COUNT(*) FROM rr.res_role") == [(2,)]
    assert rows(again, "SELECT COUNT(*) FROM rr.table_column") == [(0,)]


def test_file_index_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "regtap.sqlite"
    first = RegTAPIndex(path)
    assert first.count() == 0
    first.load(sample_records())
    reopened = RegTAPIndex(path)
    assert reopened.count() == 7
    assert dump(reopened) == dump(first)
    first.load([])
    assert first.count() == 0 and RegTAPIndex(path).count() == 0
    # Nothing but the database and its WAL files (no temporary copies).
    assert {p.name for p in tmp_path.iterdir()} <= {"regtap.sqlite", "regtap.sqlite-wal",
                                                    "regtap.sqlite-shm"}
    stale = tmp_path / "stale.sqlite"
    stale.write_bytes(path.read_bytes())
    sqlite3.connect(stale).execute("PRAGMA user_version = 0").connection.close()
    assert RegTAPIndex(stale).count() == 0, "a file of another schema version is rebuilt"


def test_query_time_limit() -> None:
    slow = RegTAPIndex(limits=RegistryLimits(query_timeout=0.2))
    slow.load(sample_records())
    started = time.monotonic()
    with pytest.raises(RegTAPError, match=r"longer than the limit of 0\.2 s"):
        slow.query("SELECT COUNT(*) FROM tap_schema.columns AS a, tap_schema.columns AS b, "
                   "tap_schema.columns AS c, tap_schema.columns AS d")
    assert time.monotonic() - started < 5


def test_reload_while_serving(http: httpx.Client, index: RegTAPIndex) -> None:
    query = {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM rr.resource"}
    try:
        index.load([r for r in sample_records() if r.ivoid in (TAP_IVOID, SIA_IVOID)])
        assert b"<TD>2</TD>" in http.get("/sync", params=query).content
    finally:
        index.load(sample_records())
    assert b"<TD>7</TD>" in http.get("/sync", params=query).content


def test_queries_during_loads_see_whole_contents() -> None:
    """A load is one transaction: concurrent queries see the old or the new content, never a
    missing or half-filled one."""
    from concurrent.futures import ThreadPoolExecutor

    index = RegTAPIndex()
    full = sample_records()
    part = [r for r in full if r.ivoid in (TAP_IVOID, SIA_IVOID)]
    index.load(full)
    stop = threading.Event()

    def count() -> set[int]:
        seen = set()
        while not stop.is_set():
            seen.add(index.query("SELECT COUNT(*) FROM rr.resource NATURAL JOIN "
                                 "rr.capability").rows[0][0])
        return seen

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(count) for _ in range(4)]
        for step in range(10):
            index.load(part if step % 2 == 0 else full)
        stop.set()
        seen = set().union(*(f.result() for f in futures))
    assert seen <= {11, 5} and seen, seen


