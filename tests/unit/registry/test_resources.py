"""The data centre's VOResource records: every one is schema-valid and says what it should
(the record store: test_store.py)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from innerspace import vocabulary
from innerspace.config import load_settings
from innerspace.registry.resources import build_records
from tests.support.apps import example_image
from tests.support.datacentres import WFAU
from tests.support.datacentres import WFAU_BASE as BASE


@pytest.fixture
def records() -> dict[str, Any]:
    dc = load_settings(datacentre=WFAU).datacentre
    apps = [example_image("hello"), example_image("hello", "0.9"), example_image("xmatch")]
    return {b.ivoid: b.element for b in build_records(dc, BASE, apps)}


def test_every_record_is_valid(records: dict[str, Any], xml_schemas: Any) -> None:
    assert set(records) == {
        "ivo://wfau.example", "ivo://wfau.example/org", "ivo://wfau.example/registry",
        "ivo://wfau.example/innerspace/uws", "ivo://wfau.example/innerspace/inner-space",
        "ivo://wfau.example/tap", "ivo://wfau.example/innerspace/apps/hello",
        "ivo://wfau.example/innerspace/apps/xmatch"}
    for element in records.values():
        xml_schemas.validate_registry(etree.tostring(element))


def xpath(element: Any, path: str) -> list[Any]:
    return list(element.xpath(path, namespaces={
        "xsi": "http://www.w3.org/2001/XMLSchema-instance"}))


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
