"""Shared fixtures: the IVOA schemas, the Docker engine, example app images, and live
innerspace services (uvicorn in a thread) with their own data directories."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("INNERSPACE_SHARED", ROOT.parent / "shared"))
SCHEMAS = SHARED / "schemas"
EXAMPLES = ROOT / "examples" / "apps"


# -- XML schemas -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def xml_schemas() -> Any:
    """Validators for every namespace innerspace emits; skips when ../shared is absent."""
    if not (SCHEMAS / "catalog.xml").is_file():
        pytest.skip(f"the IVOA schemas are not at {SCHEMAS} (a clone without ../shared); "
                    "set INNERSPACE_SHARED to the folder holding schemas/")
    from tests.xmlcheck import SchemaSet

    return SchemaSet(SCHEMAS)


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

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveService:
    """An innerspace service on a free loopback port, run by uvicorn in a thread."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        self.data_dir = data_dir
        self.settings_overrides = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def settings(self) -> Any:
        from innerspace.config import Settings

        overrides = {"public_url": self.url, **self.settings_overrides}
        return Settings(data_dir=self.data_dir, **overrides)

    def start(self) -> LiveService:
        import uvicorn

        from innerspace.server import create_app

        app = create_app(self.settings)
        # Several services share this test process, each in a thread with its own event
        # loop: the standard asyncio loop, as uvloop is not meant for that.
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", loop="asyncio")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the innerspace service did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(30)
            self._server = None

    def restart(self) -> LiveService:
        self.stop()
        return self.start()

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def engine_settings() -> dict[str, Any]:
    """Settings every service of a module starts with; a module overrides this fixture to
    run its tests on another engine (the UWS conformance tests run on Swarm too)."""
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


@pytest.fixture
def http(service: LiveService) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


@pytest.fixture(scope="session")
def fits_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic FITS image (stars on noise, with a WCS)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo_fits",
                                                  ROOT / "scripts" / "make_demo_fits.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path_factory.mktemp("fits") / "field.fits"
    module.make(str(path), size=64, stars=10)
    return path


# -- OCI registry ----------------------------------------------------------------------------

class LiveRegistry:
    """Debian's docker-registry (CNCF distribution) on a free loopback port. The storage
    persists in .run/test-registry so that the big base layer is pushed once, not per run."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self._process: Any = None

    def start(self) -> LiveRegistry:
        import shutil
        import subprocess

        binary = shutil.which("docker-registry")
        if binary is None:
            pytest.skip("docker-registry is not installed; `make setup` installs it")
        config = self.storage.parent / f"config-{self.port}.yml"
        from innerspace.apps.registry_server import CONFIG

        self.storage.mkdir(parents=True, exist_ok=True)
        config.write_text(CONFIG.format(storage=self.storage, address=self.host))
        self._process = subprocess.Popen([binary, "serve", str(config)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.url}/v2/", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the test registry did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None
            (self.storage.parent / f"config-{self.port}.yml").unlink(missing_ok=True)

    def repository(self, namespace: str = "innerspace") -> dict[str, Any]:
        """Service settings pointing at this registry."""
        return {"url": self.url, "namespace": namespace, "cache_ttl": 60}


@pytest.fixture(scope="session")
def registry(docker_client: Any) -> Iterator[LiveRegistry]:
    live = LiveRegistry(ROOT / ".run" / "test-registry" / "storage").start()
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


class ProcessService:
    """An `innerspace serve` process: a data centre of its own, as in production (used where
    several services must answer at the same time)."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        import json as _json

        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "INNERSPACE_PUBLIC_URL": self.url, "PYTHONFAULTHANDLER": "1"}
        for key, value in settings.items():
            self.env[f"INNERSPACE_{key.upper()}"] = (
                value if isinstance(value, str) else _json.dumps(value))
        self._process: Any = None

    def start(self) -> ProcessService:
        import subprocess
        import sys

        log = (self.data_dir / "service.log").open("w")
        self._process = subprocess.Popen(
            [str(Path(sys.executable).parent / "innerspace"), "serve", "--data-dir",
             str(self.data_dir), "--port", str(self.port), "--log-level", "warning"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/availability", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("service did not start: "
                                   + (self.data_dir / "service.log").read_text()[-2000:])
            time.sleep(0.1)

    def stop(self) -> None:
        import signal

        if self._process is not None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(30)
            except Exception:
                self._process.kill()
            self._process = None

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


# -- a two-node Docker Swarm -------------------------------------------------------------

SWARM_APPS = ("hello", "fits-stats", "xmatch", "probe")  # the apps tests run on the swarm


class SwarmCluster:
    """The host engine as Swarm manager plus a second engine in a network namespace
    (scripts/swarm-node.sh), as a worker. Images built here are copied to the worker."""

    def __init__(self, manager: Any, worker: Any) -> None:
        self.manager = manager
        self.worker = worker
        self.manager_node = manager.info()["Swarm"]["NodeID"]
        self.worker_node = worker.info()["Swarm"]["NodeID"]
        self._copied: set[str] = set()

    @staticmethod
    def node_script(*args: str) -> None:
        import subprocess

        subprocess.run(["bash", str(ROOT / "scripts" / "swarm-node.sh"), *args], check=True,
                       capture_output=True, text=True, timeout=180)

    def copy_image(self, image_id: str) -> None:
        """A local image onto the worker (no registry: the image id stays the same)."""
        if image_id in self._copied:
            return
        data = self.manager.images.get(image_id).save(named=True)
        self.worker.images.load(b"".join(data))
        self._copied.add(image_id)

    def node_of(self, job_id: str) -> str | None:
        """The node a job's task was placed on (while its service exists)."""
        tasks = self.manager.api.tasks(filters={"label": f"org.innerspace.job={job_id}"})
        if not tasks:
            services = self.manager.api.services(filters={"name": f"innerspace-job-{job_id}"})
            if not services:
                return None
            tasks = self.manager.api.tasks(filters={"service": services[0]["ID"]})
        placed = [t.get("NodeID") for t in tasks if t.get("NodeID")]
        return placed[-1] if placed else None

    def worker_containers(self, job_id: str) -> list[dict[str, Any]]:
        # The low-level list: the high-level one inspects each container and fails on one
        # that goes away meanwhile.
        return list(self.worker.api.containers(
            all=True, filters={"label": f"org.innerspace.job={job_id}"}))

    def sync_app_images(self) -> None:
        """Copy the app images the manager's tags now point to (other test modules rebuild
        them, which gives new image ids) onto the worker."""
        for name in SWARM_APPS:
            try:
                image = self.manager.images.get(f"innerspace-app/{name}:1.0.0")
            except Exception:  # not built in this session
                continue
            if image.id in self._copied:
                continue
            try:
                self.worker.images.get(image.id)
                self._copied.add(image.id)
            except Exception:  # not there yet
                self.copy_image(image.id)

    def settings(self, **swarm: Any) -> dict[str, Any]:
        """Settings of a service on this swarm; the current app images go to the worker."""
        self.sync_app_images()
        return {"engine": "swarm", "swarm": {"poll_interval": 0.1, "stop_grace": 1, **swarm}}


@pytest.fixture(scope="session")
def swarm_cluster(docker_client: Any, example_apps: dict[str, str]) -> Iterator[SwarmCluster]:
    """A real two-node swarm on this machine; set up once, taken down after the session
    (the host engine leaves the swarm again if it was not in one before)."""
    import shutil

    import docker

    if os.geteuid() != 0 or not (shutil.which("nsenter") and shutil.which("ip")):
        pytest.skip("a second Docker engine in a network namespace needs root, ip and nsenter")
    was_in_swarm = docker_client.info()["Swarm"]["LocalNodeState"] == "active"
    SwarmCluster.node_script("up")
    worker = docker.DockerClient(base_url="unix:///run/innerspace/isnode2/docker.sock",
                                 timeout=120)
    cluster = SwarmCluster(docker_client, worker)
    docker_client.api.update_node(cluster.manager_node, **_labelled(docker_client,
                                                                  cluster.manager_node))
    for image in example_apps.values():
        cluster.copy_image(image)
    yield cluster
    from innerspace.engines.swarm import remove_swarm_objects

    remove_swarm_objects(docker_client)
    SwarmCluster.node_script("down")
    if not was_in_swarm:
        docker_client.swarm.leave(force=True)
    else:
        docker_client.api.remove_node(cluster.worker_node, force=True)


def _labelled(client: Any, node_id: str) -> dict[str, Any]:
    node = client.api.inspect_node(node_id)
    spec = node["Spec"]
    spec.setdefault("Labels", {})["org.innerspace.node"] = "manager"
    return {"version": node["Version"]["Index"], "node_spec": spec}
