"""The registry of a running service, as VO tools meet it: pyvo finds its resources through
RegTAP, a PyPI OAI-PMH harvester harvests it, a second data centre's registry harvests it and
answers for the federation, and deleted apps show up as deleted records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvo
from sickle import Sickle

from tests.conftest import ROOT, LiveService, ProcessService

UWS_ID = "ivo://ivoa.net/std/uws#rest-1.1"


def datacentre(authority: str, name: str, collection: str) -> dict[str, Any]:
    return {"authority": authority, "name": name, "short_name": name[:8],
            "contact": {"name": f"{name} help", "email": "help@example.org"},
            "services": [{"name": "tap", "title": f"{name} TAP service",
                          "standard_id": "ivo://ivoa.net/std/TAP",
                          "access_url": f"https://{authority[6:]}/tap"}],
            "inner_apis": [{"name": "archive", "kind": "tap", "url": "http://tap.inner/tap",
                            "collections": [collection]},
                           {"name": collection, "kind": "posix-collection",
                            "path": f"/srv/{collection}", "collections": [collection]}]}


@pytest.fixture(scope="module")
def centres(tmp_path_factory: pytest.TempPathFactory,
            example_apps: dict[str, str]) -> Any:
    """Two data centres, each its own `innerspace serve` process; the second harvests the
    first."""
    first = ProcessService(tmp_path_factory.mktemp("dc1"),
                           datacentre=datacentre("ivo://north.example", "North", "north-sky"))
    first.start()
    second = ProcessService(tmp_path_factory.mktemp("dc2"),
                            datacentre=datacentre("ivo://south.example", "South",
                                                  "south-sky"),
                            harvest=[f"{first.url}/registry/oai"])
    second.start()
    httpx.post(f"{second.url}/registry/harvest", timeout=60).raise_for_status()
    yield first, second
    second.stop()
    first.stop()


def regtap(service: LiveService | ProcessService) -> None:
    pyvo.registry.choose_RegTAP_service(f"{service.url}/registry/tap")


def test_pyvo_finds_by_keyword_servicetype_and_standard_id(centres: Any) -> None:
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


def test_federation_search_finds_every_execution_service(centres: Any) -> None:
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


def test_a_pypi_harvester_harvests_everything(centres: Any, xml_schemas: Any) -> None:
    first, _ = centres
    records = list(Sickle(f"{first.url}/registry/oai").ListRecords(
        metadataPrefix="ivo_vor", set="ivo_managed"))
    ids = {r.header.identifier for r in records}
    assert {"ivo://north.example", "ivo://north.example/registry",
            "ivo://north.example/innerspace/uws", "ivo://north.example/innerspace/inner-space",
            "ivo://north.example/tap", "ivo://north.example/innerspace/apps/hello"} <= ids
    identify = httpx.get(f"{first.url}/registry/oai", params={"verb": "Identify"})
    assert b"vg:Registry" in identify.content


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
    httpx.post(f"{service.url}/apps/refresh").raise_for_status()
    httpx.post(f"{service.url}/registry/refresh").raise_for_status()
    header = httpx.get(oai, params={"verb": "GetRecord", "identifier": ivoid,
                                    "metadataPrefix": "ivo_vor"}).text
    assert 'status="deleted"' in header
    regtap(service)
    assert not [r for r in pyvo.registry.search(keywords=["Here today"])]


def test_live_documents_validate(centres: Any, tmp_path: Path, xml_schemas: Any) -> None:
    from tests.conftest import SCHEMAS
    from tests.oai_samples import OAISchemas

    first, _ = centres
    oai = OAISchemas(SCHEMAS, tmp_path)
    for params in ({"verb": "Identify"}, {"verb": "ListSets"},
                   {"verb": "ListMetadataFormats"},
                   {"verb": "ListRecords", "metadataPrefix": "ivo_vor", "set": "ivo_managed"},
                   {"verb": "GetRecord", "metadataPrefix": "ivo_vor",
                    "identifier": "ivo://north.example/innerspace/inner-space"}):
        response = httpx.get(f"{first.url}/registry/oai", params=params)
        oai.validate(response.content)
    for path in ("/capabilities", "/availability"):
        xml_schemas.validate(httpx.get(f"{first.url}{path}").content)


def test_planner_ranks_data_centres_and_says_why_others_are_left_out(
        centres: Any, build_app: Any) -> None:
    from innerspace.client.federation import Federation

    build_app(ROOT / "tests" / "apps" / "inner-probe")
    first, second = centres
    httpx.post(f"{first.url}/registry/refresh").raise_for_status()
    httpx.post(f"{second.url}/registry/harvest").raise_for_status()
    federation = Federation(second.url)  # the federation's registry: South harvests North

    plan = federation.plan("hello", name="Plan")
    assert {c.authority for c in plan.ranked} == {"ivo://north.example", "ivo://south.example"}, [
        (c.authority, c.reason) for c in plan.candidates]
    assert all(c.quote is not None for c in plan.ranked)
    for candidate in plan.candidates:
        assert candidate.job is not None and candidate.job.phase == "PENDING"
        candidate.job.delete()

    by_collection = federation.plan("hello", collection="south-sky")
    assert [c.authority for c in by_collection.ranked] == ["ivo://south.example"]
    [left_out] = by_collection.excluded
    assert left_out.authority == "ivo://north.example"
    assert left_out.reason == "holds no data collection 'south-sky'"
    by_collection.ranked[0].job.delete()

    lacking = federation.plan("inner-probe")
    assert lacking.ranked == []
    assert {c.reason for c in lacking.excluded} == {"lacks the inner API http-files"}

    for centre, sky in ((first, "north-sky"), (second, "south-sky")):
        job = federation.run("hello", {"name": sky}, collection=sky)
        assert job.url.startswith(centre.url), "run where the collection is"
        status = job.wait(timeout=60)
        assert status.phase == "COMPLETED"
        assert job.fetch("greeting.txt") == f"Hello, {sky}!\n".encode()
    quotes_left = httpx.get(f"{second.url}/jobs", params={"PHASE": "PENDING"}).text
    assert "<uws:jobref " not in quotes_left, "the other quote jobs were deleted"
