"""Fixtures of the integration tests: the Docker engine, app images, live innerspace
services with their own data directories, the test OCI registry and the two-node swarm.

Every fixture here that needs an engine depends on `docker_client`, directly or through
another fixture: that is how the root conftest.py marks the tests that need Docker."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.oci_registry import LiveRegistry, registry_binary
from tests.support.paths import EXAMPLES, RUN, load_script
from tests.support.repository import ImageJanitor
from tests.support.services import LiveService
from tests.support.swarm import WORKER_SOCKET, SwarmCluster

# -- Docker --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_client() -> Any:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        pytest.skip(f"no Docker engine answers ({exc}); `make setup` starts one")
    return client


@pytest.fixture(scope="session")
def base_image(docker_client: Any) -> str:
    from innerspace.apps.base_image import base_image_exists
    from innerspace.config import DEFAULT_BASE_IMAGE

    if not base_image_exists(docker_client, DEFAULT_BASE_IMAGE):
        pytest.skip(f"base image {DEFAULT_BASE_IMAGE} is missing; `make setup` builds it")
    return DEFAULT_BASE_IMAGE


@pytest.fixture(scope="session")
def build_app(docker_client: Any, base_image: str) -> Callable[..., str]:
    """Build an app directory into an image; returns the image id."""
    from innerspace.apps.builder import build_app_image, image_tag
    from innerspace.apps.project import load_project

    def build(directory: Path, tag: str | None = None) -> str:
        project = load_project(directory)
        return build_app_image(docker_client, project, base_image=base_image,
                               tag=tag or image_tag(project.manifest, "innerspace-app/"),
                               say=lambda _: None)

    return build


@pytest.fixture(scope="session")
def example_apps(build_app: Callable[..., str]) -> dict[str, str]:
    """The example apps, built once per session: name -> image id."""
    return {name: build_app(EXAMPLES / name) for name in ("hello", "fits-stats", "xmatch")}


# -- live services -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine_settings() -> dict[str, Any]:
    """Settings every service of a module starts with; a folder or module overrides this
    fixture to run its tests on another engine (the UWS conformance tests run on Swarm too)."""
    return {}


@pytest.fixture
def make_service(tmp_path_factory: pytest.TempPathFactory, example_apps: dict[str, str],
                 engine_settings: dict[str, Any]) -> Iterator[Callable[..., LiveService]]:
    """Start services with chosen settings; all are stopped after the test."""
    started: list[LiveService] = []

    def make(data_dir: Path | None = None, **settings: Any) -> LiveService:
        service = LiveService(data_dir or tmp_path_factory.mktemp("data"),
                              **{**engine_settings, **settings})
        started.append(service.start())
        return service

    yield make
    for service in started:
        service.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, example_apps: dict[str, str],
            engine_settings: dict[str, Any]) -> Iterator[LiveService]:
    """One default service (anonymous access, embedded defaults) shared by a module."""
    live = LiveService(tmp_path_factory.mktemp("data"), **engine_settings).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def fits_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic FITS image (stars on noise, with a WCS)."""
    path = tmp_path_factory.mktemp("fits") / "field.fits"
    load_script("make_demo_fits").make(str(path), size=64, stars=10)
    return path


# -- the OCI registry ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def registry(docker_client: Any) -> Iterator[LiveRegistry]:
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed; `make setup` installs it")
    live = LiveRegistry(RUN / "test-registry" / "storage").start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def publish(registry: LiveRegistry, docker_client: Any,
            build_app: Callable[..., str]) -> Callable[..., str]:
    """Build an app directory and push it to the test registry under a namespace;
    returns the pinned reference registry/namespace/name@digest."""
    from innerspace.apps.project import load_project
    from innerspace.apps.publish import push_app_image
    from innerspace.config import Repository

    def push(directory: Path, namespace: str = "innerspace") -> str:
        project = load_project(directory)
        image_id = build_app(directory)
        return push_app_image(docker_client, image_id, project.manifest,
                              Repository(**registry.repository(namespace)), say=lambda _: None)

    return push


@pytest.fixture
def janitor(docker_client: Any) -> Iterator[ImageJanitor]:
    """Removes, when the test ends, the images and registry manifests the test made."""
    cleaner = ImageJanitor(docker_client)
    yield cleaner
    cleaner.clean()


@pytest.fixture
def publish_example(publish: Callable[..., str], janitor: ImageJanitor
                    ) -> Callable[[str, str], str]:
    """Publish an example app; the registry tag is untagged locally afterwards (the image
    itself stays: it is also innerspace-app/<name>:1.0.0)."""

    def push(name: str, namespace: str) -> str:
        pinned = publish(EXAMPLES / name, namespace=namespace)
        janitor.reference(f"{pinned.partition('@')[0]}:1.0.0")
        return pinned

    return push


# -- a two-node Docker Swarm ---------------------------------------------------------------


@pytest.fixture(scope="session")
def swarm_cluster(docker_client: Any, example_apps: dict[str, str]) -> Iterator[SwarmCluster]:
    """A real two-node swarm on this machine; set up once, taken down after the session
    (the host engine leaves the swarm again if it was not in one before)."""
    import docker

    from innerspace.engines.swarm import remove_swarm_objects

    if os.geteuid() != 0 or not (shutil.which("nsenter") and shutil.which("ip")):
        pytest.skip("a second Docker engine in a network namespace needs root, ip and nsenter")
    was_in_swarm = docker_client.info()["Swarm"]["LocalNodeState"] == "active"
    SwarmCluster.node_script("up")
    worker = docker.DockerClient(base_url=WORKER_SOCKET, timeout=120)
    cluster = SwarmCluster(docker_client, worker)
    cluster.label_manager()
    for image in example_apps.values():
        cluster.copy_image(image)
    yield cluster
    remove_swarm_objects(docker_client)
    SwarmCluster.node_script("down")
    if not was_in_swarm:
        docker_client.swarm.leave(force=True)
    else:
        docker_client.api.remove_node(cluster.worker_node, force=True)
