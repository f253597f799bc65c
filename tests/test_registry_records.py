"""The data centre's VOResource records: every one is schema-valid, says what it should, and
the record store dates changes and remembers deletions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from innerspace import vocabulary
from innerspace.apps.catalogue import AppImage
from innerspace.apps.project import load_project
from innerspace.config import load_settings
from innerspace.registry.resources import build_records
from innerspace.registry.store import RecordStore
from innerspace.uws.store import JobStore
from tests.conftest import EXAMPLES

DATACENTRE: dict[str, Any] = {
    "authority": "ivo://wfau.example", "name": "Wide Field Astronomy Unit",
    "short_name": "WFAU", "publisher": "WFAU, University of Edinburgh",
    "contact": {"name": "WFAU helpdesk", "email": "help@wfau.example"},
    "services": [{"name": "tap", "title": "WFAU TAP", "standard_id": "ivo://ivoa.net/std/TAP",
                  "access_url": "https://wfau.example/tap", "subjects": ["surveys"]}],
    "inner_apis": [
        {"name": "tap", "kind": "tap", "url": "http://tap.inner:8080/tap",
         "collections": ["ukidss"]},
        {"name": "ukidss-images", "kind": "posix-collection", "path": "/srv/ukidss",
         "collections": ["ukidss"]}],
}
BASE = "https://compute.wfau.example/innerspace"


def app(name: str, version: str | None = None) -> AppImage:
    manifest = load_project(EXAMPLES / name).manifest
    if version:
        manifest = manifest.model_copy(update={"version": version})
    return AppImage(manifest, f"127.0.0.1:5000/innerspace/{name}@sha256:" + "b" * 64)


@pytest.fixture
def records() -> dict[str, Any]:
    dc = load_settings(datacentre=DATACENTRE).datacentre
    return {b.ivoid: b.element for b in
            build_records(dc, BASE, [app("hello"), app("hello", "0.9"), app("xmatch")])}


def test_every_record_is_valid(records: dict[str, Any], xml_schemas: Any) -> None:
    assert set(records) == {
        "ivo://wfau.example", "ivo://wfau.example/org", "ivo://wfau.example/registry",
        "ivo://wfau.example/innerspace/uws", "ivo://wfau.example/innerspace/inner-space",
        "ivo://wfau.example/tap", "ivo://wfau.example/innerspace/apps/hello",
        "ivo://wfau.example/innerspace/apps/xmatch"}
    for element in records.values():
        xml_schemas.validate_registry(etree.tostring(element))


def xpath(element: Any, path: str) -> list[Any]:
    return element.xpath(path, namespaces={
        "xsi": "http://www.w3.org/2001/XMLSchema-instance"})


def test_records_say_what_they_should(records: dict[str, Any]) -> None:
    uws = records["ivo://wfau.example/innerspace/uws"]
    assert xpath(uws, "capability[@standardID='ivo://ivoa.net/std/UWS#rest-1.1']"
                      "/interface/accessURL/text()") == [f"{BASE}/jobs"]
    inner = records["ivo://wfau.example/innerspace/inner-space"]
    assert xpath(inner, "capability/@standardID") == [
        "ivo://ivoa.net/std/TAP", "ivo://innerspace.org/std/inner-api#posix-collection"]
    assert xpath(inner, "capability/interface/accessURL/text()") == [
        "http://tap.inner:8080/tap", "file:///srv/ukidss"]
    assert xpath(inner, "capability/interface/@role") == ["inner:tap", "inner:ukidss-images"]
    assert xpath(inner, "@xsi:type") == ["vs:CatalogService"]
    # What it holds, as structured data: a schema per inner API, a table per collection.
    assert [(xpath(s, "name/text()"), xpath(s, "utype/text()"), xpath(s, "table/name/text()"))
            for s in xpath(inner, "tableset/schema")] == [
        (["tap"], ["ivo://ivoa.net/std/TAP"], ["tap.ukidss"]),
        (["ukidss-images"], ["ivo://innerspace.org/std/inner-api#posix-collection"],
         ["ukidss-images.ukidss"])]
    hello = records["ivo://wfau.example/innerspace/apps/hello"]
    assert xpath(hello, "curation/version/text()") == ["1.0.0"], "the highest version"
    assert xpath(hello, f"capability[@standardID='{vocabulary.APP}']/interface/param/name"
                        "/text()") == ["app", "name", "delay"]
    assert xpath(hello, "content/relationship/relatedResource/@ivo-id") == [
        "ivo://wfau.example/innerspace/uws"]
    assert "sha256:" in xpath(hello, "content/description/text()")[0]
    registry = records["ivo://wfau.example/registry"]
    assert xpath(registry, "managedAuthority/text()") == ["wfau.example"]
    assert xpath(registry, "capability[@xsi:type='vg:Harvest']/interface/accessURL/text()"
                 ) == [f"{BASE}/registry/oai"]


def test_store_dates_changes_and_remembers_deletions(tmp_path: Path) -> None:
    jobs = JobStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = RecordStore(jobs.engine)
    dc = load_settings(datacentre=DATACENTRE).datacentre
    assert store.sync(build_records(dc, BASE, [app("hello"), app("xmatch")]), now=1000.0)
    first = {r.ivoid: r for r in store.records()}
    assert not store.sync(build_records(dc, BASE, [app("hello"), app("xmatch")]), now=2000.0)
    assert store.sync(build_records(dc, BASE, [app("hello", "2.0.0")]), now=3000.0)
    after = {r.ivoid: r for r in store.records()}
    hello, xmatch = (after[f"ivo://wfau.example/innerspace/apps/{n}"] for n in ("hello", "xmatch"))
    assert hello.updated.timestamp() == 3000 and not hello.deleted
    assert xmatch.deleted and xmatch.updated.timestamp() == 3000
    assert b'status="deleted"' in xmatch.xml
    uws = after["ivo://wfau.example/innerspace/uws"]
    assert uws.updated == first["ivo://wfau.example/innerspace/uws"].updated, "unchanged"
    assert b'created="1970-01-01T00:16:40Z"' in uws.xml
    assert store.earliest().timestamp() == 1000
    jobs.close()
