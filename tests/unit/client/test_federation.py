"""The planner's questions to a federation's registry, answered by a live RegTAP service
holding the records two data centres publish: where the execution services are, who offers
an app, and which inner APIs and data collections each inner space holds, read from the
records' tablesets (never from description prose)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from innerspace.client.federation import Federation
from innerspace.config import load_settings
from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.resources import build_records
from tests.support.apps import example_image
from tests.support.regtap_live import LiveRegTAP
from tests.support.regtap_samples import UPDATED

POSIX = "ivo://innerspace.org/std/inner-api#posix-collection"
HTTP_FILES = "ivo://innerspace.org/std/inner-api#http-files"


def datacentre(authority: str, apis: list[dict[str, Any]]) -> dict[str, Any]:
    return {"authority": authority, "name": authority[6:], "inner_apis": apis}


NORTH = datacentre("ivo://north.example", [
    {"name": "archive", "kind": "tap", "url": "http://tap.inner/tap",
     "collections": ["north-sky", "DR5.sources"]},
    {"name": "north-sky", "kind": "posix-collection", "path": "/srv/north",
     "collections": ["north-sky"]}])
SOUTH = datacentre("ivo://south.example", [
    {"name": "Files", "kind": "http-files", "url": "http://files.inner/"},
    {"name": "south-sky", "kind": "posix-collection", "path": "/srv/south",
     "collections": ["south-sky"]}])


@pytest.fixture(scope="module")
def federation() -> Iterator[Federation]:
    records = []
    for description, base, apps in ((NORTH, "https://north.example/innerspace",
                                     [example_image("hello"), example_image("xmatch")]),
                                    (SOUTH, "https://south.example/innerspace",
                                     [example_image("hello")])):
        dc = load_settings(datacentre=description).datacentre
        records += [Record(b.ivoid, etree.tostring(b.element), UPDATED)
                    for b in build_records(dc, base, apps)]
    index = RegTAPIndex()
    assert not index.load(records).skipped
    with LiveRegTAP(index) as live:
        yield Federation(live.url)


def test_execution_services_and_app_sites(federation: Federation) -> None:
    assert federation.execution_services() == {
        "ivo://north.example": "https://north.example/innerspace/jobs",
        "ivo://south.example": "https://south.example/innerspace/jobs"}
    assert federation.app_sites("hello:1.0.0") == {"ivo://north.example",
                                                   "ivo://south.example"}
    assert federation.app_sites("xmatch") == {"ivo://north.example"}
    assert federation.app_sites("nothing") == set()


def test_inner_spaces_come_from_the_tablesets(federation: Federation) -> None:
    assert federation.inner_spaces() == {
        "ivo://north.example": {"ivo://ivoa.net/std/tap": {"north-sky", "DR5.sources"},
                                POSIX: {"north-sky"}},
        "ivo://south.example": {HTTP_FILES: set(), POSIX: {"south-sky"}}}
