"""What a stopped `innerspace serve` with engine = "swarm" leaves on the swarm: nothing, on
either node (no container, network, volume, service, config or secret), whether it was
stopped cleanly or crashed and `innerspace swarm clean` was run after it; a service stopped
while a job runs keeps what that job needs, and its next start picks the job up again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from tests.support.services import ProcessService
from tests.support.swarm import SwarmCluster
from tests.support.uwsutil import create, phase, wait_final

ON_WORKER = "node.labels.org.innerspace.node==isnode2"
ON_MANAGER = "node.labels.org.innerspace.node==manager"
UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
GONE_TIMEOUT = 120.0  # seconds for the swarm to take a stopped service's objects down

Inventory = set[tuple[str, str, str]]  # (node, kind, name)


def inventory(cluster: SwarmCluster) -> Inventory:
    """Every container, network and volume on both nodes, and the swarm's services,
    configs and secrets."""
    found: Inventory = set()
    for node, client in (("manager", cluster.manager), ("worker", cluster.worker)):
        api = client.api
        found |= {(node, "container", c["Names"][0].lstrip("/"))
                  for c in api.containers(all=True)}
        found |= {(node, "network", n["Name"]) for n in api.networks()}
        found |= {(node, "volume", v["Name"]) for v in api.volumes().get("Volumes") or []}
    api = cluster.manager.api
    found |= {("swarm", "service", s["Spec"]["Name"]) for s in api.services()}
    found |= {("swarm", "config", c["Spec"]["Name"]) for c in api.configs()}
    found |= {("swarm", "secret", s["Spec"]["Name"]) for s in api.secrets()}
    return found


def wait_for_inventory(cluster: SwarmCluster, wanted: Inventory, what: str) -> None:
    """Wait (generously) until nothing beyond `wanted` is on the swarm; fail naming what is
    left."""
    deadline = time.monotonic() + GONE_TIMEOUT
    while True:
        left = inventory(cluster) - wanted
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: left on the swarm: {sorted(left)}")
        time.sleep(0.5)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def job_id(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def stage_server(data_dir: Path) -> str:
    service_id = (data_dir / "service-id").read_text().strip()
    return f"innerspace-stage-{service_id[:12]}"


@pytest.fixture
def start_service(swarm_cluster: SwarmCluster, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Callable[..., ProcessService]]:
    """Start `innerspace serve` processes on the swarm (fresh data directories unless
    given); any still running are stopped after the test."""
    started: list[ProcessService] = []

    def start(data_dir: Path | None = None, constraints: tuple[str, ...] = ()
              ) -> ProcessService:
        service = ProcessService(data_dir or tmp_path_factory.mktemp("swarm-data"),
                                 **swarm_cluster.settings(constraints=list(constraints)))
        started.append(service.start())
        return service

    yield start
    for service in started:
        service.stop()


def start_job(http: httpx.Client, cluster: SwarmCluster, params: dict[str, str]) -> str:
    """Create a job, copy the very image it is pinned to onto the worker (tests running
    meanwhile may rebuild the app, which moves its tag), then run it; its URL."""
    url = create(http, params)
    info = etree.fromstring(http.get(url).content).find(f"{UWS}jobInfo")
    assert info is not None
    image = next(node.text for node in info if etree.QName(node).localname == "image")
    assert image
    cluster.copy_image(image)
    assert http.post(f"{url}/phase", data={"PHASE": "RUN"}).status_code == 303
    return url


def run_hello(service: ProcessService, cluster: SwarmCluster) -> str:
    """Run a job to its end; its id."""
    with service.client() as http:
        url = start_job(http, cluster, {"app": "hello", "name": "swarm"})
        root = wait_final(http, url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED", (
            root.findtext(f"{UWS}errorSummary/{UWS}message"),
            (service.data_dir / "service.log").read_text()[-3000:])
    return job_id(url)


def clean(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "innerspace"), "swarm", "clean",
                           *args], capture_output=True, text=True, timeout=300, check=False)


def test_stopped_services_leave_nothing_on_any_node(
        swarm_cluster: SwarmCluster, start_service: Callable[..., ProcessService]) -> None:
    before = inventory(swarm_cluster)
    for constraint in (ON_WORKER, ON_MANAGER, ON_WORKER):  # three services, fresh data dirs
        service = start_service(constraints=(constraint,))
        run_hello(service, swarm_cluster)
        # While it runs, the service has its stage server and network on the manager.
        assert ("manager", "container", stage_server(service.data_dir)) in inventory(
            swarm_cluster)
        service.stop()
        wait_for_inventory(swarm_cluster, before, "a cleanly stopped service")


def test_swarm_clean_takes_down_what_a_crashed_service_left(
        swarm_cluster: SwarmCluster, start_service: Callable[..., ProcessService]) -> None:
    before = inventory(swarm_cluster)
    running = start_service()
    with_running = inventory(swarm_cluster)
    crashed = start_service(constraints=(ON_WORKER,))
    ended = run_hello(crashed, swarm_cluster)
    # Its job's service is removed after the job ends: a crash before that would leave the
    # job to the service's next start (as `swarm clean` would say).
    wait_until(lambda: ("swarm", "service", f"innerspace-job-{ended}") not in inventory(
        swarm_cluster), "the ended job's service to go")
    os.kill(crashed.pid, signal.SIGKILL)
    crashed.stop()  # reaps it
    left = inventory(swarm_cluster) - with_running
    assert ("manager", "container", stage_server(crashed.data_dir)) in left, left

    done = clean()
    assert done.returncode == 0, done.stdout + done.stderr
    assert stage_server(crashed.data_dir) in done.stdout, done.stdout
    wait_for_inventory(swarm_cluster, with_running, "after `innerspace swarm clean`")
    # The service still running kept its stage server, and runs jobs.
    assert ("manager", "container", stage_server(running.data_dir)) in inventory(
        swarm_cluster)
    run_hello(running, swarm_cluster)
    running.stop()
    wait_for_inventory(swarm_cluster, before, "the other service, stopped")


def test_a_service_stopped_while_a_job_runs_keeps_what_the_job_needs(
        swarm_cluster: SwarmCluster, start_service: Callable[..., ProcessService]) -> None:
    before = inventory(swarm_cluster)
    service = start_service(constraints=(ON_WORKER,))
    with service.client() as http:
        url = start_job(http, swarm_cluster, {"app": "hello", "delay": "500"})
        wait_until(lambda: phase(http, url) == "EXECUTING", "the job to run")
        wait_until(lambda: bool(swarm_cluster.worker_containers(job_id(url))),
                   "the job's container on the worker")
    service.stop()
    kept = inventory(swarm_cluster)
    assert ("manager", "container", stage_server(service.data_dir)) in kept
    assert ("swarm", "service", f"innerspace-job-{job_id(url)}") in kept
    # `swarm clean` leaves a stopped service's running jobs alone unless told otherwise.
    assert clean().returncode == 0
    assert ("swarm", "service", f"innerspace-job-{job_id(url)}") in inventory(swarm_cluster)

    again = start_service(data_dir=service.data_dir, constraints=(ON_WORKER,))
    url = f"/jobs/{job_id(url)}"  # on the new port
    with again.client() as http:
        assert phase(http, url) == "EXECUTING"  # re-attached
        assert http.post(f"{url}/phase", data={"PHASE": "ABORT"}).status_code == 303
        wait_until(lambda: phase(http, url) == "ABORTED", "the job to be aborted")
        wait_until(lambda: not swarm_cluster.worker_containers(job_id(url)),
                   "the job's container to go")
    again.stop()
    wait_for_inventory(swarm_cluster, before, "the service stopped after its job ended")
