"""Images that declare a VOLUME, without Docker: how the volumes are read and named, how the
builder and the publisher refuse them (stand-ins for the engine's API), and how both
catalogues (local engine: a stand-in again; registry: a fake registry on
httpx.MockTransport) refuse such an image with the reason, and tell a job asking for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from innerspace.apps.builder import AppBuildError, build_app_image
from innerspace.apps.catalogue import (
    AppImage,
    LocalEngineCatalogue,
    UnknownAppError,
    pick_or_refusal,
)
from innerspace.apps.manifest import MANIFEST_LABEL, validate_manifest
from innerspace.apps.oci import RegistryClient, sha256_digest
from innerspace.apps.project import load_project
from innerspace.apps.publish import PublishError, push_app_image
from innerspace.apps.repository import RegistryCatalogue
from innerspace.apps.volumes import declared_volumes, volumes_problem
from innerspace.config import Repository
from tests.support.paths import EXAMPLES


def label(name: str, version: str) -> str:
    return validate_manifest({"name": name, "version": version, "title": name,
                              "run": {"module": "app"}}).to_label()


# -- reading and naming volumes --------------------------------------------------------------


def test_declared_volumes() -> None:
    assert declared_volumes({"Volumes": {"/data": {}, "/cache": {}}}) == ["/cache", "/data"]
    assert declared_volumes({"Volumes": None}) == []
    assert declared_volumes({"Volumes": ["/not-a-map"]}) == []
    assert declared_volumes({}) == []
    assert declared_volumes(None) == []


def test_the_problem_names_the_volumes() -> None:
    assert volumes_problem([]) is None
    problem = volumes_problem(["/cache", "/data"])
    assert problem is not None
    assert problem.startswith("it declares VOLUME /cache, /data: ")
    assert "without a size limit" in problem


def test_the_problem_of_a_hostile_image_stays_short() -> None:
    problem = volumes_problem([f"/v{index:05d}" + "x" * 500 for index in range(10_000)])
    assert problem is not None
    assert "and 9995 more" in problem
    assert len(problem) < 1000


# -- picking with refusals -------------------------------------------------------------------


IMAGES = [AppImage(validate_manifest(json.loads(label("hello", "1.0"))), "sha256:h")]
PROBLEMS = {"hello:2.0": "it declares VOLUME /data", "lone:1.0": "it declares VOLUME /x"}


def test_a_refused_version_says_why() -> None:
    with pytest.raises(UnknownAppError, match="VOLUME /data"):
        pick_or_refusal(IMAGES, PROBLEMS, "hello:2.0")
    with pytest.raises(UnknownAppError, match="VOLUME /x"):
        pick_or_refusal(IMAGES, PROBLEMS, "lone")  # no runnable version at all
    assert pick_or_refusal(IMAGES, PROBLEMS, "hello").version == "1.0"
    with pytest.raises(UnknownAppError, match="unknown app 'nosuch'"):
        pick_or_refusal(IMAGES, PROBLEMS, "nosuch")


# -- the local engine catalogue --------------------------------------------------------------


class EngineAPI:
    """The two calls of docker's low-level API the catalogue makes."""

    def __init__(self, images: dict[str, tuple[str, dict[str, Any] | None]]) -> None:
        self._images = images  # id -> (manifest label, Volumes)
        self.inspected: list[str] = []

    def images(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        return [{"Id": image_id, "Labels": {MANIFEST_LABEL: text}, "Created": index,
                 "RepoTags": []}
                for index, (image_id, (text, _)) in enumerate(self._images.items())]

    def inspect_image(self, image_id: str) -> dict[str, Any]:
        self.inspected.append(image_id)
        return {"Id": image_id, "Config": {"Volumes": self._images[image_id][1]}}


class Engine:
    def __init__(self, api: EngineAPI) -> None:
        self.api = api


def test_local_catalogue_refuses_images_with_volumes() -> None:
    api = EngineAPI({"sha256:" + "1" * 64: (label("hello", "1.0"), None),
                     "sha256:" + "2" * 64: (label("stash", "1.0"), {"/data": {}})})
    catalogue = LocalEngineCatalogue(Engine(api))  # type: ignore[arg-type]
    assert [a.name for a in catalogue.apps()] == ["hello"]
    refused = catalogue.status()["refused"]
    assert isinstance(refused, dict) and set(refused) == {"stash:1.0"}
    assert "declares VOLUME /data" in refused["stash:1.0"]
    with pytest.raises(UnknownAppError, match=r"stash:1\.0 cannot run: it declares VOLUME /data"):
        catalogue.resolve("stash:1.0")
    with pytest.raises(UnknownAppError, match="VOLUME /data"):
        catalogue.resolve("stash")
    catalogue.refresh()
    assert sorted(api.inspected) == ["sha256:" + "1" * 64, "sha256:" + "2" * 64], (
        "each image id is inspected once")


def test_local_catalogue_the_newest_build_decides() -> None:
    api = EngineAPI({"sha256:" + "1" * 64: (label("hello", "1.0"), None),
                     "sha256:" + "2" * 64: (label("hello", "1.0"), {"/data": {}})})
    catalogue = LocalEngineCatalogue(Engine(api))  # type: ignore[arg-type]
    assert catalogue.apps() == []
    with pytest.raises(UnknownAppError, match="VOLUME /data"):
        catalogue.resolve("hello:1.0")


# -- the registry catalogue ------------------------------------------------------------------


def registry_serving(config: dict[str, Any]) -> httpx.MockTransport:
    blob = json.dumps({"architecture": "amd64", "os": "linux", "config": config}).encode()
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"digest": sha256_digest(blob), "size": len(blob)},
                           "layers": []}).encode()

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/_catalog":
            return httpx.Response(200, json={"repositories": ["ns/stash"]})
        if path == "/v2/ns/stash/tags/list":
            return httpx.Response(200, json={"tags": ["1.0"]})
        if path.startswith("/v2/ns/stash/manifests/"):
            return httpx.Response(200, content=manifest)
        if path == f"/v2/ns/stash/blobs/{sha256_digest(blob)}":
            return httpx.Response(200, content=blob)
        return httpx.Response(404)

    return httpx.MockTransport(handle)


def test_registry_catalogue_refuses_images_with_volumes() -> None:
    transport = registry_serving({"Labels": {MANIFEST_LABEL: label("stash", "1.0")},
                                  "Volumes": {"/data": {}, "/var/cache": {}}})
    client = RegistryClient("http://reg.example:5000", transport=transport)
    catalogue = RegistryCatalogue(client, "ns", ["reg.example:5000/ns/"])
    assert catalogue.apps() == []
    refused = catalogue.status()["refused"]
    assert isinstance(refused, dict) and set(refused) == {"stash:1.0"}
    assert refused["stash:1.0"].startswith(
        "image reg.example:5000/ns/stash:1.0 cannot run: it declares VOLUME /data, "
        "/var/cache: ")
    with pytest.raises(UnknownAppError, match="VOLUME /data, /var/cache"):
        catalogue.resolve("stash:1.0")
    digest = client.manifest("ns/stash", "1.0").digest
    with pytest.raises(UnknownAppError, match="VOLUME /data, /var/cache"):
        catalogue.resolve(f"stash@{digest}")


def test_registry_catalogue_runs_images_without_volumes() -> None:
    transport = registry_serving({"Labels": {MANIFEST_LABEL: label("stash", "1.0")},
                                  "Volumes": None})
    client = RegistryClient("http://reg.example:5000", transport=transport)
    catalogue = RegistryCatalogue(client, "ns", ["reg.example:5000/ns/"])
    assert catalogue.resolve("stash:1.0").image.startswith("reg.example:5000/ns/stash@sha256:")


# -- the builder and the publisher -------------------------------------------------------------


class BuildAPI:
    """docker's low-level build, inspect, tag and push, as far as the builder and the
    publisher use them; `volumes` says what each image id declares."""

    def __init__(self, volumes: dict[str, dict[str, Any] | None]) -> None:
        self.volumes = volumes
        self.calls: list[str] = []

    def inspect_image(self, image: str) -> dict[str, Any]:
        self.calls.append(f"inspect {image}")
        return {"Config": {"Volumes": self.volumes[image]}}

    def build(self, **options: Any) -> Iterator[dict[str, Any]]:
        self.calls.append("build")
        yield {"stream": "Step 1/1 : FROM base\n"}
        yield {"aux": {"ID": "sha256:built"}}

    def tag(self, *args: Any) -> None:
        self.calls.append("tag")

    def push(self, *args: Any, **options: Any) -> Iterator[dict[str, Any]]:
        self.calls.append("push")
        yield {"aux": {"Digest": "sha256:" + "d" * 64}}


class BuildEngine:
    def __init__(self, api: BuildAPI) -> None:
        self.api = api
        self.images = self
        self.removed: list[str] = []

    def remove(self, image: str, force: bool = False) -> None:
        self.removed.append(image)


def test_a_built_image_with_volumes_is_refused_and_removed() -> None:
    # The base declared nothing when looked at, but the image built on it does.
    engine = BuildEngine(BuildAPI({"base": None, "sha256:built": {"/data": {}}}))
    project = load_project(EXAMPLES / "hello")
    with pytest.raises(AppBuildError, match="built as t:1 cannot run: it declares VOLUME /data"):
        build_app_image(engine, project, base_image="base", tag="t:1",  # type: ignore[arg-type]
                        say=lambda _: None)
    assert engine.api.calls == ["inspect base", "build", "inspect sha256:built"]
    assert engine.removed == ["sha256:built"]


def test_a_base_with_volumes_is_refused_before_building() -> None:
    engine = BuildEngine(BuildAPI({"base": {"/data": {}}}))
    project = load_project(EXAMPLES / "hello")
    with pytest.raises(AppBuildError, match="base image base cannot carry apps: it declares"):
        build_app_image(engine, project, base_image="base", tag="t:1",  # type: ignore[arg-type]
                        say=lambda _: None)
    assert engine.api.calls == ["inspect base"]


def test_publishing_an_image_with_volumes_is_refused_before_tagging() -> None:
    engine = BuildEngine(BuildAPI({"sha256:built": {"/data": {}}, "sha256:clean": None}))
    manifest = load_project(EXAMPLES / "hello").manifest
    repository = Repository(url="http://127.0.0.1:5000", namespace="ns")
    with pytest.raises(PublishError, match=r"hello:1\.0\.0 .* cannot be published: it declares"):
        push_app_image(engine, "sha256:built", manifest, repository,  # type: ignore[arg-type]
                       say=lambda _: None)
    assert engine.api.calls == ["inspect sha256:built"]
    pinned = push_app_image(engine, "sha256:clean", manifest, repository,  # type: ignore[arg-type]
                            say=lambda _: None)
    assert pinned == "127.0.0.1:5000/ns/hello@sha256:" + "d" * 64
