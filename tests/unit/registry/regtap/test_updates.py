"""Incremental changes of the RegTAP index: one record replaced or deleted touches that
record's rows only, in every rr table, in one transaction; queries running during a large
change see the old or the new state, never a mix; a file index keeps its records, origins and
harvest states across reopening, and is rebuilt empty for another schema."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.regtap.index import OWN
from tests.support.regtap_live import RR_TABLES, dump, rows
from tests.support.regtap_samples import (
    SIA_IVOID,
    TAP_IVOID,
    UWS_IVOID,
    sample_records,
)


def _record(ivoid: str) -> Record:
    return next(r for r in sample_records() if r.ivoid == ivoid)


def _without(tables: dict[str, list[tuple[Any, ...]]], ivoid: str
             ) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows but those of `ivoid` (rows start with their ivoid)."""
    return {t: [r for r in found if r[0] != ivoid] for t, found in tables.items()}


def test_an_update_is_visible_to_the_next_query_and_changes_nothing_else() -> None:
    index = RegTAPIndex()
    index.load(sample_records())
    before = dump(index)
    tap = _record(TAP_IVOID)
    changed = replace(tap, xml=tap.xml.replace(b"<subject>", b"<subject>brand new</subject>"
                                               b"<subject>", 1)
                      .replace(b"<title>", b"<title>Renamed ", 1),
                      updated=tap.updated + timedelta(hours=1))
    report = index.upsert([changed], "http://peer.example/oai")
    assert report.loaded == 1 and not report.skipped
    assert rows(index, f"SELECT res_title FROM rr.resource WHERE ivoid = '{TAP_IVOID}'"
                )[0][0].startswith("Renamed ")
    assert ("brand new",) in rows(index, "SELECT res_subject FROM rr.res_subject WHERE "
                                         f"ivoid = '{TAP_IVOID}'")
    after = dump(index)
    assert _without(after, TAP_IVOID) == _without(before, TAP_IVOID)
    # Its other rows are as before: the same number in every table but res_subject.
    for table in RR_TABLES:
        ours = [r for r in after[table] if r[0] == TAP_IVOID]
        theirs = [r for r in before[table] if r[0] == TAP_IVOID]
        assert len(ours) == len(theirs) + (table == "res_subject"), table
    assert index.writer.origins() == {OWN: 6, "http://peer.example/oai": 1}
    # Back as it was: the same tables as a load of the original records.
    index.upsert([tap])
    assert dump(index) == before


def test_a_deletion_removes_every_row_of_the_record() -> None:
    index = RegTAPIndex()
    index.load(sample_records())
    before = dump(index)
    assert sum(len([r for r in found if r[0] == TAP_IVOID]) for found in before.values()) > 20
    assert index.delete([TAP_IVOID.upper().replace("IVO://", "ivo://")]) == 1
    after = dump(index)
    assert after == _without(before, TAP_IVOID)
    assert index.delete([TAP_IVOID]) == 0, "nothing left to delete"
    # A deleted (or inactive) record upserted is removed as well.
    index.upsert([replace(_record(SIA_IVOID), deleted=True)])
    assert dump(index) == _without(_without(before, TAP_IVOID), SIA_IVOID)


def test_queries_during_a_large_update_see_whole_states() -> None:
    """200 records, each with three capabilities, all given a fourth in one transaction
    while four threads count capabilities: every count is the old total or the new."""
    uws = _record(UWS_IVOID)
    capability = uws.xml[uws.xml.index(b"<capability"):uws.xml.index(b"</capability>") + 13]
    assert uws.xml.count(b"<capability") == 3

    def copies(second: bool) -> list[Record]:
        made = []
        for number in range(200):
            ivoid = f"ivo://example.org/copy/{number}"
            xml = uws.xml.replace(b"ivo://example.org/innerspace/uws", ivoid.encode())
            if second:
                xml = xml.replace(capability, capability + capability)
            made.append(Record(ivoid, xml, uws.updated))
        return made

    index = RegTAPIndex()
    index.load(copies(False))
    stop = threading.Event()

    def count() -> set[int]:
        seen = set()
        while not stop.is_set():
            seen.add(index.query("SELECT COUNT(*) FROM rr.resource NATURAL JOIN "
                                 "rr.capability").rows[0][0])
        return seen

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(count) for _ in range(4)]
        for step in range(6):
            index.upsert(copies(step % 2 == 0))
        stop.set()
        seen = set().union(*(f.result() for f in futures))
    assert seen and seen <= {600, 800}, seen


def test_a_reopened_index_keeps_records_origins_and_harvest_states(tmp_path: Path) -> None:
    path = tmp_path / "regtap.sqlite"
    first = RegTAPIndex(path)
    assert first.rebuilt
    first.upsert([r for r in sample_records() if r.ivoid != TAP_IVOID])
    first.upsert([_record(TAP_IVOID)], "http://peer.example/oai")
    state = {"watermark": "2026-11-30T12:00:00+00:00", "authorities": ["ivo://example.org"]}
    first.writer.set_harvest_state("http://peer.example/oai", state)
    again = RegTAPIndex(path)
    assert not again.rebuilt and again.count() == 7
    assert dump(again) == dump(first)
    assert again.writer.harvest_state("http://peer.example/oai") == state
    assert again.writer.ivoids("http://peer.example/oai") == {TAP_IVOID}
    # Another schema: rebuilt empty, harvest states forgotten (the next harvest is full).
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE index_meta SET value = 'older' WHERE key = 'schema'")
    connection.close()
    rebuilt = RegTAPIndex(path)
    assert rebuilt.rebuilt and rebuilt.count() == 0
    assert rebuilt.writer.harvest_state("http://peer.example/oai") is None
    assert rows(rebuilt, "SELECT COUNT(*) FROM tap_schema.tables")[0][0] > 10


def test_a_broken_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "regtap.sqlite"
    path.write_bytes(b"this is no database" * 100)
    index = RegTAPIndex(path)
    assert index.rebuilt and index.count() == 0
    index.upsert(sample_records())
    assert index.count() == 7
