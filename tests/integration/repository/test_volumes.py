"""Images that declare a VOLUME (writable, unlimited space around the read-only root) are
refused everywhere innerspace meets one: `innerspace app build` and `app publish` on a base
that declares one, publishing such an image, and both catalogues (local engine and registry),
which list it as refused with the reason and answer a job asking for it with 400 naming
the volumes. The images are built here with the Docker SDK, bypassing innerspace's builder,
and removed (with their registry manifests) when each test ends."""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from innerspace import cli
from innerspace.apps.builder import AppBuildError, build_app_image
from innerspace.apps.manifest import MANIFEST_LABEL, AppManifest
from innerspace.apps.project import load_project
from innerspace.apps.publish import PublishError, push_app_image
from innerspace.config import Repository
from tests.support.oci_registry import LiveRegistry
from tests.support.paths import EXAMPLES
from tests.support.repository import ImageJanitor, copy_hello, post_job, unique_version


def volumed_manifest(version: str) -> AppManifest:
    """hello's manifest under a name of its own, so that no other test sees the app."""
    return load_project(EXAMPLES / "hello").manifest.model_copy(
        update={"name": "volumed", "version": version})


def build_with_volume(client: Any, base_image: str, janitor: ImageJanitor, tag: str,
                      labels: dict[str, str]) -> str:
    """An image FROM the base that declares VOLUME /data and /scratch; its id."""
    marker = secrets.token_hex(8)  # never an image another test made
    dockerfile = (f"FROM {base_image}\nVOLUME /data\nVOLUME [\"/scratch\"]\n"
                  f"LABEL org.example.test={marker}\n").encode()
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, labels=labels,
                                   rm=True)
    janitor.image(str(image.id))
    assert set(image.attrs["Config"]["Volumes"]) == {"/data", "/scratch"}
    return str(image.id)


@pytest.fixture
def volume_base(docker_client: Any, base_image: str, janitor: ImageJanitor) -> str:
    """A base image that declares volumes (as a careless or hostile base might)."""
    tag = f"innerspace-test/volume-base:{secrets.token_hex(4)}"
    build_with_volume(docker_client, base_image, janitor, tag, {})
    return tag


def images_tagged(client: Any, reference: str) -> list[Any]:
    return [image for image in client.images.list() if reference in image.tags]


# -- build and publish ------------------------------------------------------------------------


def test_build_refuses_a_base_with_volumes(docker_client: Any, volume_base: str,
                                           tmp_path: Path) -> None:
    version = unique_version()
    project = load_project(copy_hello(tmp_path, version))
    tag = f"innerspace-test/hello:{version}"
    with pytest.raises(AppBuildError, match="declares VOLUME /data, /scratch") as refused:
        build_app_image(docker_client, project, base_image=volume_base, tag=tag,
                        say=lambda _: None)
    assert f"the base image {volume_base} cannot carry apps" in str(refused.value)
    assert images_tagged(docker_client, tag) == [], "nothing was built"


def test_cli_build_and_publish_refuse_a_base_with_volumes(
        docker_client: Any, volume_base: str, registry: LiveRegistry, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    version = unique_version()
    directory = copy_hello(tmp_path, version)
    for name in ("INNERSPACE_CONFIG", "INNERSPACE_APP_IMAGE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INNERSPACE_BASE_IMAGE", volume_base)
    monkeypatch.setenv("INNERSPACE_REPOSITORY__URL", registry.url)
    monkeypatch.setenv("INNERSPACE_REPOSITORY__NAMESPACE", "t-volumes-cli")
    monkeypatch.setenv("COLUMNS", "300")
    runner = CliRunner()
    for command in ("build", "publish"):
        result = runner.invoke(cli.app, ["app", command, str(directory)])
        assert result.exit_code != 0, result.output
        assert "declares VOLUME /data, /scratch" in result.output, result.output
    assert images_tagged(docker_client, f"innerspace-app/hello:{version}") == []
    listed = httpx.get(f"{registry.url}/v2/t-volumes-cli/hello/tags/list", timeout=10)
    assert listed.status_code == 404, "nothing was pushed"


def test_publish_refuses_an_image_with_volumes(docker_client: Any, base_image: str,
                                               janitor: ImageJanitor,
                                               registry: LiveRegistry) -> None:
    manifest = volumed_manifest(unique_version())
    image_id = build_with_volume(docker_client, base_image, janitor,
                                 f"innerspace-test/volumed:{manifest.version}",
                                 {MANIFEST_LABEL: manifest.to_label()})
    repository = Repository(**registry.repository("t-volumes-publish"))
    with pytest.raises(PublishError, match="declares VOLUME /data, /scratch") as refused:
        push_app_image(docker_client, image_id, manifest, repository, say=lambda _: None)
    assert f"volumed:{manifest.version}" in str(refused.value)
    target = f"{registry.host}/t-volumes-publish/volumed:{manifest.version}"
    assert images_tagged(docker_client, target) == [], "not even tagged for the registry"
    listed = httpx.get(f"{registry.url}/v2/t-volumes-publish/volumed/tags/list", timeout=10)
    assert listed.status_code == 404, "nothing was pushed"


# -- the catalogues ---------------------------------------------------------------------------


def assert_refused(http: httpx.Client, ref: str, pinned: str | None = None) -> None:
    """/apps lists `ref` as refused for its volumes, and jobs asking for it get a 400."""
    listing = http.get("/apps")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert ref not in {f"{a['name']}:{a['version']}" for a in body["apps"]}
    reason = body["catalogue"]["refused"][ref]
    assert "cannot run: it declares VOLUME /data, /scratch" in reason, reason
    for asked in (ref, ref.partition(":")[0], *([pinned] if pinned else [])):
        job = post_job(http, {"app": asked})
        assert job.status_code == 400, (asked, job.text)
        assert "declares VOLUME /data, /scratch" in job.text, (asked, job.text)
    assert post_job(http, {"app": "hello"}).status_code == 303, "other apps still run"


def test_local_catalogue_refuses_images_with_volumes(docker_client: Any, base_image: str,
                                                     janitor: ImageJanitor,
                                                     make_service: Any) -> None:
    manifest = volumed_manifest(unique_version())
    build_with_volume(docker_client, base_image, janitor,
                      f"innerspace-test/volumed:{manifest.version}",
                      {MANIFEST_LABEL: manifest.to_label()})
    service = make_service()
    with service.client() as http:
        assert_refused(http, f"volumed:{manifest.version}")


def test_registry_catalogue_refuses_images_with_volumes(docker_client: Any, base_image: str,
                                                        janitor: ImageJanitor,
                                                        registry: LiveRegistry,
                                                        publish_example: Any,
                                                        make_service: Any) -> None:
    ns = "t-volumes"
    publish_example("hello", ns)
    manifest = volumed_manifest(unique_version())
    repository = f"{registry.host}/{ns}/volumed"
    build_with_volume(docker_client, base_image, janitor, f"{repository}:{manifest.version}",
                      {MANIFEST_LABEL: manifest.to_label()})
    digest = None
    for event in docker_client.images.push(repository, tag=manifest.version, stream=True,
                                           decode=True):
        assert "error" not in event, event
        digest = (event.get("aux") or {}).get("Digest", digest)
    assert digest is not None
    janitor.manifest(f"{registry.url}/v2/{ns}/volumed/manifests/{digest}")
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        assert_refused(http, f"volumed:{manifest.version}", pinned=f"volumed@{digest}")
