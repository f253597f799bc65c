"""HEAD on every GET resource of the service (issue 11, item 5): each GET route of the app,
enumerated from the app itself (UWS, VOSI, /apps, the schemas, OAI-PMH, RegTAP, the API
documentation), answers HEAD with the status and headers of its GET and no body. Against a
real service and engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.routing import Route

from tests.support.services import LiveService
from tests.support.uwsclient import UWSClient
from tests.support.uwsutil import UWS, wait_final


def get_paths(service: LiveService) -> list[str]:
    """Every path template the service answers GET on."""
    from innerspace.server import create_app

    app = create_app(service.settings)
    paths = [path for path, operations in app.openapi()["paths"].items() if "get" in operations]
    paths += [route.path for route in app.routes
              if isinstance(route, Route) and "GET" in (route.methods or ())]
    return sorted(set(paths))


@pytest.fixture(scope="module")
def jobs(web_service: LiveService, xml_schemas: Any, fits_file: Path) -> dict[str, str]:
    """A completed hello job (its results; a finished job's document has no quote, which
    would move with the clock) and a pending fits-stats job (its upload)."""
    with UWSClient(web_service, xml_schemas) as client:
        hello, doc = client.run(app="hello", name="Ada")
        assert doc.phase == "COMPLETED"
        fits = client.create({"app": "fits-stats"},
                             files={"image": ("field.fits", fits_file.read_bytes())})
    with web_service.client() as http:  # a finished asynchronous RegTAP query
        tap = http.post("/registry/tap/async", data={
            "LANG": "ADQL", "QUERY": "SELECT ivoid FROM rr.resource", "PHASE": "RUN"})
        assert tap.status_code == 303, tap.text
        assert wait_final(http, tap.headers["location"]).findtext(f"{UWS}phase") == "COMPLETED"
    return {"hello": urlsplit(hello).path, "fits": urlsplit(fits).path,
            "tap": urlsplit(tap.headers["location"]).path}


def concrete(template: str, jobs: dict[str, str]) -> str:
    """A path of `template` that names things that exist."""
    if template.startswith("/jobs/{job_id}/inputs/"):
        return template.replace("/jobs/{job_id}", jobs["fits"]).replace("{name}", "image")
    if template.startswith("/registry/tap/async/{job_id}"):
        return template.replace("/registry/tap/async/{job_id}", jobs["tap"]).replace(
            "{result_id}", "result")
    path = template.replace("/jobs/{job_id}", jobs["hello"])
    path = path.replace("{result_id}", "greeting.txt").replace("/apps/{name}", "/apps/hello")
    assert "{" not in path, f"this test does not know what to put in {template}"
    return path


# Headers that differ between any two requests: the time, and each request's own id.
PER_REQUEST = {"date", "x-request-id"}


def same_headers(one: httpx.Response, other: httpx.Response) -> bool:
    return ({k: v for k, v in one.headers.items() if k not in PER_REQUEST}
            == {k: v for k, v in other.headers.items() if k not in PER_REQUEST})


def test_head_answers_every_get_route(web_service: LiveService, jobs: dict[str, str],
                                      http: httpx.Client) -> None:
    templates = get_paths(web_service)
    assert {"/jobs", "/jobs/{job_id}/results/{result_id}", "/availability", "/apps",
            "/registry/oai", "/registry/tap/sync", "/docs"} <= set(templates)
    for template in templates:
        path = concrete(template, jobs)
        got, head = http.get(path), http.head(path)
        assert head.status_code == got.status_code != 405, (path, got.status_code, got.text)
        assert head.content == b"", path
        assert same_headers(head, got), (path, head.headers, got.headers)
        if "content-length" in got.headers:
            assert head.headers["content-length"] == str(len(got.content)), path


def test_head_with_query_parameters_and_errors(jobs: dict[str, str], http: httpx.Client) -> None:
    for path in ("/registry/tap/sync?LANG=ADQL&QUERY=SELECT%20ivoid%20FROM%20rr.resource",
                 "/registry/oai?verb=Identify", "/jobs?PHASE=COMPLETED", "/jobs/nosuchjob",
                 f"{jobs['hello']}/results/nothing.txt", "/nowhere"):
        got, head = http.get(path), http.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"" and got.content != b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
