"""The record store: it dates each record's changes, leaves unchanged records alone and
remembers deletions, in the service's database (SQLite in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from innerspace.config import load_settings
from innerspace.db import open_database
from innerspace.registry.resources import build_records
from innerspace.registry.store import RecordStore
from tests.support.apps import example_image
from tests.support.datacentres import WFAU
from tests.support.datacentres import WFAU_BASE as BASE


def test_store_dates_changes_and_remembers_deletions(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = RecordStore(database)
    dc = load_settings(datacentre=WFAU).datacentre
    both = [example_image("hello"), example_image("xmatch")]
    assert store.sync(build_records(dc, BASE, both), now=1000.0)
    first = {r.ivoid: r for r in store.records()}
    assert not store.sync(build_records(dc, BASE, both), now=2000.0)
    assert store.sync(build_records(dc, BASE, [example_image("hello", "2.0.0")]), now=3000.0)
    after = {r.ivoid: r for r in store.records()}
    hello, xmatch = (after[f"ivo://wfau.example/innerspace/apps/{n}"] for n in ("hello", "xmatch"))
    assert hello.updated.timestamp() == 3000 and not hello.deleted
    assert xmatch.deleted and xmatch.updated.timestamp() == 3000
    assert b'status="deleted"' in xmatch.xml
    uws = after["ivo://wfau.example/innerspace/uws"]
    assert uws.updated == first["ivo://wfau.example/innerspace/uws"].updated, "unchanged"
    assert b'created="1970-01-01T00:16:40Z"' in uws.xml
    assert store.earliest().timestamp() == 1000
    database.dispose()
