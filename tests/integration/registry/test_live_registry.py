"""The registry of a running service, as VO tools meet it: pyvo finds its resources through
RegTAP, a PyPI OAI-PMH harvester harvests it, a second data centre's registry harvests it and
answers for the federation, and deleted apps show up as deleted records. (The federation
planner over the same two data centres: test_planner.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pyvo
from sickle import Sickle

from tests.support.datacentres import datacentre
from tests.support.oai_live import oai_schemas
from tests.support.services import LiveService, ProcessService

UWS_ID = "ivo://ivoa.net/std/uws#rest-1.1"
Centres = tuple[ProcessService, ProcessService]


def regtap(service: LiveService | ProcessService) -> None:
    pyvo.registry.choose_RegTAP_service(f"{service.url}/registry/tap")


def test_pyvo_finds_by_keyword_servicetype_and_standard_id(centres: Centres) -> None:
    first, _ = centres
    regtap(first)
    found = pyvo.registry.search(keywords=["cross-match"])
    assert [r.ivoid for r in found] == ["ivo://north.example/innerspace/apps/xmatch"]
    tap = pyvo.registry.search(servicetype="tap")
    urls = {r.ivoid: r.access_url for r in tap}
    assert urls["ivo://north.example/tap"] == "https://north.example/tap"
    uws = pyvo.registry.search(servicetype=UWS_ID)
    assert {r.ivoid: r.get_interface(service_type=UWS_ID).access_url for r in uws} == {
        "ivo://north.example/innerspace/uws": f"{first.url}/jobs"}


def test_federation_search_finds_every_execution_service(centres: Centres) -> None:
    first, second = centres
    regtap(second)
    uws = pyvo.registry.search(servicetype=UWS_ID)
    assert {r.ivoid: r.get_interface(service_type=UWS_ID).access_url for r in uws} == {
        "ivo://north.example/innerspace/uws": f"{first.url}/jobs",
        "ivo://south.example/innerspace/uws": f"{second.url}/jobs"}
    collections = pyvo.dal.TAPService(f"{second.url}/registry/tap").run_sync(
        "SELECT ivoid, cap_description FROM rr.capability "
        "WHERE standard_id = 'ivo://innerspace.org/std/inner-api#posix-collection'")
    assert sorted(row["ivoid"] for row in collections) == [
        "ivo://north.example/innerspace/inner-space",
        "ivo://south.example/innerspace/inner-space"]


def test_a_pypi_harvester_harvests_everything(centres: Centres, xml_schemas: Any) -> None:
    first, _ = centres
    records = list(Sickle(f"{first.url}/registry/oai").ListRecords(
        metadataPrefix="ivo_vor", set="ivo_managed"))
    ids = {r.header.identifier for r in records}
    assert {"ivo://north.example", "ivo://north.example/registry",
            "ivo://north.example/innerspace/uws", "ivo://north.example/innerspace/inner-space",
            "ivo://north.example/tap", "ivo://north.example/innerspace/apps/hello"} <= ids
    identify = httpx.get(f"{first.url}/registry/oai", params={"verb": "Identify"})
    assert b"vg:Registry" in identify.content


REFRESH_TIMEOUT = 120.0  # seconds a refresh may take on a busy machine


def test_deleted_apps_are_marked_deleted(build_app: Any, make_service: Any, tmp_path: Path,
                                         docker_client: Any) -> None:
    project = tmp_path / "ephemeral"
    project.mkdir()
    (project / "innerspace.toml").write_text(
        'name = "ephemeral-app"\nversion = "1.0.0"\ntitle = "Here today"\n'
        'run = { command = ["true"] }\n')
    image = build_app(project)
    service = make_service(datacentre=datacentre("ivo://gone.example", "Gone", "g"))
    oai = f"{service.url}/registry/oai"
    ivoid = "ivo://gone.example/innerspace/apps/ephemeral-app"
    record = httpx.get(oai, params={"verb": "GetRecord", "identifier": ivoid,
                                    "metadataPrefix": "ivo_vor"}).text
    assert 'status="deleted"' not in record and "Here today" in record
    docker_client.images.remove(image, force=True)
    # Generous time-outs: under load a refresh once outlived httpx's default 5 s.
    httpx.post(f"{service.url}/apps/refresh", timeout=REFRESH_TIMEOUT).raise_for_status()
    httpx.post(f"{service.url}/registry/refresh", timeout=REFRESH_TIMEOUT).raise_for_status()
    header = httpx.get(oai, params={"verb": "GetRecord", "identifier": ivoid,
                                    "metadataPrefix": "ivo_vor"}).text
    assert 'status="deleted"' in header
    regtap(service)
    assert not [r for r in pyvo.registry.search(keywords=["Here today"])]


def test_live_documents_validate(centres: Centres, tmp_path: Path, xml_schemas: Any) -> None:
    first, _ = centres
    oai = oai_schemas(tmp_path)
    for params in ({"verb": "Identify"}, {"verb": "ListSets"},
                   {"verb": "ListMetadataFormats"},
                   {"verb": "ListRecords", "metadataPrefix": "ivo_vor", "set": "ivo_managed"},
                   {"verb": "GetRecord", "metadataPrefix": "ivo_vor",
                    "identifier": "ivo://north.example/innerspace/inner-space"}):
        response = httpx.get(f"{first.url}/registry/oai", params=params)
        oai.validate(response.content)
    for path in ("/capabilities", "/availability"):
        xml_schemas.validate(httpx.get(f"{first.url}{path}").content)
