"""The app catalogue read from a real OCI registry (Debian's docker-registry): /apps as JSON
and HTML, /apps/{name}, the manifest JSON Schema, natural version order with the highest
version by default, and the images it refuses (no manifest label, a broken label, a label
naming another app, an image outside the allow-list).

Every test uses its own registry namespace so that no test sees another's apps. Images made
here under temporary versions are removed afterwards, so that later tests (whose services
may read the local engine) never see them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from innerspace.apps.manifest import MANIFEST_LABEL
from innerspace.apps.project import load_project
from tests.support.oci_registry import LiveRegistry
from tests.support.paths import EXAMPLES
from tests.support.repository import (
    ImageJanitor,
    digest_of,
    job_document,
    job_info,
    post_job,
    push_unmanaged,
)
from tests.support.uwsutil import create

# -- push and catalogue ---------------------------------------------------------------------

def test_catalogue_lists_published_apps(registry: LiveRegistry, make_service: Any,
                                        publish_example: Callable[[str, str], str]) -> None:
    ns = "t-catalogue"
    hello = publish_example("hello", ns)
    stats = publish_example("fits-stats", ns)
    assert hello.startswith(f"{registry.host}/{ns}/hello@sha256:")
    assert stats.startswith(f"{registry.host}/{ns}/fits-stats@sha256:")
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        response = http.get("/apps")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["catalogue"]["stale"] is False
        assert body["catalogue"]["registry"] == registry.url
        assert "Warning" not in response.headers
        apps = {a["name"]: a for a in body["apps"]}
        assert set(apps) == {"hello", "fits-stats"}
        assert apps["hello"]["version"] == "1.0.0"
        assert apps["hello"]["digest"] == digest_of(hello)
        assert apps["hello"]["image"] == hello
        assert apps["fits-stats"]["digest"] == digest_of(stats)
        assert apps["fits-stats"]["image"] == stats
        assert set(apps["hello"]["parameters"]) == {"name", "delay"}
        assert apps["hello"]["parameters"]["delay"]["type"] == "float"
        assert apps["fits-stats"]["parameters"]["image"]["type"] == "file"
        assert apps["fits-stats"]["parameters"]["stretch"]["choices"] == [
            "linear", "log", "asinh"]
        assert apps["hello"]["resources"]["max_execution_time"] == 600
        assert apps["fits-stats"]["resources"]["cores"] == 1
        assert apps["hello"]["inner_apis"] == []
        assert apps["fits-stats"]["inner_apis"] == []

        one = http.get("/apps/hello")
        assert one.status_code == 200, one.text
        versions = one.json()["versions"]
        assert [(v["name"], v["version"], v["digest"]) for v in versions] == [
            ("hello", "1.0.0", digest_of(hello))]

        page = http.get("/apps", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<html" in page.text.lower()
        assert ">hello<" in page.text and ">fits-stats<" in page.text

        # The catalogue is a JSON API: its errors are JSON too (a page for a browser).
        missing = http.get("/apps/nosuch")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json() == {"error": "not-found",
                                  "message": "no app 'nosuch' in the catalogue"}
        page = http.get("/apps/nosuch", headers={"Accept": "text/html"})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "no app &#x27;nosuch&#x27; in the catalogue" in page.text

        schema = http.get("/schemas/app-manifest.json")
        assert schema.status_code == 200
        document = schema.json()
        assert "json-schema.org" in document["$schema"]
        assert document["type"] == "object"
        assert {"name", "version"} <= set(document["properties"])


# -- highest version --------------------------------------------------------------------------

def test_highest_version_is_chosen(registry: LiveRegistry, make_service: Any,
                                   publish_copy: Callable[..., tuple[str, str]]) -> None:
    ns = "t-versions"
    newer, _ = publish_copy(ns, "1.10.0")
    older, _ = publish_copy(ns, "1.9.0")
    assert newer != older
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        versions = http.get("/apps/hello").json()["versions"]
        assert [v["version"] for v in versions] == ["1.9.0", "1.10.0"]
        info = job_info(job_document(http, create(http, {"app": "hello"})))
        assert info["appVersion"] == "1.10.0"
        assert info["image"] == newer
        info = job_info(job_document(http, create(http, {"app": "hello:1.9.0"})))
        assert info["image"] == older


# -- refused images ---------------------------------------------------------------------------


def test_refused_images(registry: LiveRegistry, make_service: Any, docker_client: Any,
                        base_image: str, janitor: ImageJanitor,
                        publish_example: Callable[[str, str], str]) -> None:
    ns = "t-refused"
    publish_example("hello", ns)
    where = f"{registry.host}/{ns}"
    push_unmanaged(docker_client, base_image, janitor, f"{where}/plain:1.0", {})
    push_unmanaged(docker_client, base_image, janitor, f"{where}/broken:1.0",
                   {MANIFEST_LABEL: "{not json"})
    other = load_project(EXAMPLES / "hello").manifest.model_copy(update={"version": "0.0.1"})
    push_unmanaged(docker_client, base_image, janitor, f"{where}/impostor:0.0.1",
                   {MANIFEST_LABEL: other.to_label()})

    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        plain = post_job(http, {"app": "plain:1.0"})
        assert plain.status_code == 400, plain.text
        assert "no org.innerspace.manifest label" in plain.text

        broken = post_job(http, {"app": "broken:1.0"})
        assert broken.status_code == 400, broken.text
        assert "label is invalid" in broken.text

        impostor = post_job(http, {"app": "impostor:0.0.1"})
        assert impostor.status_code == 400, impostor.text
        assert "hello:0.0.1" in impostor.text

        listing = http.get("/apps").json()
        assert [a["name"] for a in listing["apps"]] == ["hello"]
        refused = listing["catalogue"]["refused"]
        assert set(refused) == {"plain:1.0", "broken:1.0", "impostor:0.0.1"}
        assert "label" in refused["plain:1.0"]

    elsewhere = make_service(repository={**registry.repository(ns),
                                         "allowed": ["example.org/other"]})
    with elsewhere.client() as http:
        outside = post_job(http, {"app": "hello"})
        assert outside.status_code == 400, outside.text
        assert "not from an allowed registry" in outside.text
