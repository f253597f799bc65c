"""The Swarm engine on a real two-node swarm (the host engine and a second engine in its own
network namespace): placement, staging with no shared filesystem, the sandbox, faults
(a node drained, a node's engine stopped, the service restarted) and clean-up."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits

from tests.support.paths import TEST_APPS
from tests.support.services import LiveService
from tests.support.swarm import SwarmCluster
from tests.support.uwsutil import create, results, wait_final, wait_phase

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
ON_WORKER = "node.labels.org.innerspace.node==isnode2"
ON_MANAGER = "node.labels.org.innerspace.node==manager"


def phase_of(root: Any) -> str:
    return str(root.findtext(f"{UWS}phase"))


def error_of(root: Any) -> str:
    return str(root.findtext(f"{UWS}errorSummary/{UWS}message") or "")


def job_id(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def worker_volumes(cluster: SwarmCluster) -> set[str]:
    return {v["Name"] for v in cluster.worker.api.volumes().get("Volumes") or []}


def swarm_service(make_service: Callable[..., LiveService], cluster: SwarmCluster,
                  **settings: Any) -> LiveService:
    swarm = settings.pop("swarm", {})
    return make_service(**cluster.settings(**swarm), **settings)


@pytest.fixture(scope="module")
def probe_image(build_app: Callable[..., str], swarm_cluster: SwarmCluster) -> str:
    image = build_app(TEST_APPS / "probe")
    swarm_cluster.copy_image(image)
    return image


def test_job_runs_on_the_chosen_node_and_its_files_travel(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService],
        fits_file: Path) -> None:
    live = swarm_service(make_service, swarm_cluster, swarm={"constraints": [ON_WORKER]})
    with live.client() as http:
        url = create(http, {"app": "fits-stats", "PHASE": "RUN"},
                     files={"image": ("sky.fits", fits_file.read_bytes())})
        wait_until(lambda: swarm_cluster.node_of(job_id(url)) is not None, 60, "placement")
        assert swarm_cluster.node_of(job_id(url)) == swarm_cluster.worker_node
        root = wait_final(http, url)
        assert phase_of(root) == "COMPLETED", error_of(root)
        names = results(root)
        assert set(names) == {"stats.json", "preview.png", "stdout", "stderr"}, names
        stats = json.loads(http.get(f"{url}/results/stats.json").content)
        assert stats["hdus"][0]["shape"] == list(fits.getdata(fits_file).shape)
        assert http.get(f"{url}/results/preview.png").content.startswith(b"\x89PNG")
    # The job's results were sent back over the network into the service's job folder.
    assert (live.data_dir / "jobs" / job_id(url) / "results" / "stats.json").is_file()


def test_jobs_spread_over_both_nodes_and_every_result_comes_back(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService]) -> None:
    live = swarm_service(make_service, swarm_cluster, limits={"max_running_jobs": 6})
    with live.client() as http:
        urls = [create(http, {"app": "hello", "name": f"n{i}", "delay": "3", "PHASE": "RUN"})
                for i in range(6)]
        placed: dict[str, str] = {}

        def all_placed() -> bool:
            for url in urls:
                node = swarm_cluster.node_of(job_id(url))
                if node:
                    placed[url] = node
            return len(placed) == len(urls)

        wait_until(all_placed, 60, "all jobs placed")
        assert set(placed.values()) == {swarm_cluster.manager_node, swarm_cluster.worker_node}
        for i, url in enumerate(urls):
            root = wait_final(http, url)
            assert phase_of(root) == "COMPLETED", error_of(root)
            assert http.get(f"{url}/results/greeting.txt").text == f"Hello, n{i}!\n"


def test_container_sandbox_on_a_swarm_node(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService],
        probe_image: str) -> None:
    live = swarm_service(make_service, swarm_cluster, swarm={"constraints": [ON_WORKER]})
    with live.client() as http:
        url = create(http, {"app": "probe", "PHASE": "RUN"})
        root = wait_final(http, url)
        assert phase_of(root) == "COMPLETED", error_of(root)
        report = json.loads(http.get(f"{url}/results/probe.json").content)
    assert report["uid"] == 10001 and report["gid"] == 10001
    assert int(report["cap_eff"], 16) == 0 and int(report["cap_bnd"], 16) == 0
    assert report["no_new_privs"] == "1", "the node's engine runs with --no-new-privileges"
    assert report["root_writable"] is report["app_writable"] is False
    assert report["tmp_writable"] is report["results_writable"] is True
    assert report["inputs_writable"] is False
    assert report["network"]["outside_reachable"] is False, "only the staging network"
    assert int(report["pids_max"]) == live.settings.limits.pids
    assert int(report["memory_limit"]) == 64 * 1024 * 1024
    assert int(report["cpu_quota"]) / int(report["cpu_period"]) == pytest.approx(0.5)
    assert "INNERSPACE_STAGE_TOKEN" not in report["env"], "the app never sees the token"


def test_draining_the_node_ends_the_job_in_error_and_leaves_nothing(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService]) -> None:
    on_worker = swarm_service(make_service, swarm_cluster, swarm={"constraints": [ON_WORKER]})
    on_manager = swarm_service(make_service, swarm_cluster,
                               swarm={"constraints": [ON_MANAGER]})
    api = swarm_cluster.manager.api
    volumes_before = worker_volumes(swarm_cluster)
    with on_worker.client() as http, on_manager.client() as other:
        doomed = create(http, {"app": "hello", "name": "x", "delay": "60", "PHASE": "RUN"})
        bystander = create(other, {"app": "hello", "name": "y", "delay": "4", "PHASE": "RUN"})
        wait_phase(http, doomed, "EXECUTING")
        wait_until(lambda: bool(swarm_cluster.worker_containers(job_id(doomed))), 60,
                   "the job's container on the worker")
        node = api.inspect_node(swarm_cluster.worker_node)
        spec = {**node["Spec"], "Availability": "drain"}
        api.update_node(swarm_cluster.worker_node, node["Version"]["Index"], spec)
        try:
            root = wait_final(http, doomed, timeout=60)
        finally:
            node = api.inspect_node(swarm_cluster.worker_node)
            api.update_node(swarm_cluster.worker_node, node["Version"]["Index"],
                            {**node["Spec"], "Availability": "active"})
        assert phase_of(root) == "ERROR"
        assert "was drained" in error_of(root), error_of(root)
        assert phase_of(wait_final(other, bystander)) == "COMPLETED"
    wait_until(lambda: not swarm_cluster.worker_containers(job_id(doomed)), 30,
               "the job's container to be removed from the worker")
    assert not api.services(filters={"name": f"innerspace-job-{job_id(doomed)}"})
    wait_until(lambda: worker_volumes(swarm_cluster) <= volumes_before, 30,
               "the job's staging volume to be removed from the worker")


def test_stopping_a_nodes_engine_ends_the_job_in_error_and_leaves_nothing(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService]) -> None:
    on_worker = swarm_service(make_service, swarm_cluster, swarm={"constraints": [ON_WORKER]})
    on_manager = swarm_service(make_service, swarm_cluster,
                               swarm={"constraints": [ON_MANAGER]})
    with on_worker.client() as http, on_manager.client() as other:
        doomed = create(http, {"app": "hello", "name": "x", "delay": "120", "PHASE": "RUN"})
        wait_phase(http, doomed, "EXECUTING")
        wait_until(lambda: bool(swarm_cluster.worker_containers(job_id(doomed))), 60,
                   "the job's container on the worker")
        SwarmCluster.node_script("stop")
        try:
            bystander = create(other, {"app": "hello", "name": "y", "PHASE": "RUN"})
            root = wait_final(http, doomed, timeout=90)
            assert phase_of(root) == "ERROR"
            assert "stopped answering" in error_of(root), error_of(root)
            assert phase_of(wait_final(other, bystander)) == "COMPLETED"
        finally:
            SwarmCluster.node_script("start")
    # Back up, the node learns that the job's service is gone and removes its container.
    wait_until(lambda: swarm_cluster.manager.api.inspect_node(
        swarm_cluster.worker_node)["Status"]["State"] == "ready", 90, "the node to be ready")
    wait_until(lambda: not swarm_cluster.worker_containers(job_id(doomed)), 60,
               "the job's container to be removed from the worker")


def test_service_restart_mid_run_reattaches_and_loses_nothing(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService]) -> None:
    live = swarm_service(make_service, swarm_cluster, swarm={"constraints": [ON_WORKER]})
    with live.client() as http:
        url = create(http, {"app": "hello", "name": "again", "delay": "6", "PHASE": "RUN"})
        wait_phase(http, url, "EXECUTING")
    live.restart()
    with live.client() as http:
        root = wait_final(http, url)
        assert phase_of(root) == "COMPLETED", error_of(root)
        assert http.get(f"{url}/results/greeting.txt").text == "Hello, again!\n"
        stdout = http.get(f"{url}/results/stdout").text
        # The logs were collected after the restart: the app printed its greeting last.
        assert stdout.splitlines()[-1] == "Hello, again!", stdout


def test_an_unsatisfiable_placement_is_reported(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService]) -> None:
    live = swarm_service(make_service, swarm_cluster,
                         swarm={"constraints": ["node.labels.no-such-label==1"]})
    with live.client() as http:
        url = create(http, {"app": "hello", "name": "x", "PHASE": "RUN",
                            "EXECUTIONDURATION": "3"})
        root = wait_final(http, url, timeout=30)
    assert phase_of(root) == "ERROR"
    assert "execution duration" in error_of(root)


def test_engine_refuses_a_docker_engine_that_is_not_a_manager(
        swarm_cluster: SwarmCluster, tmp_path: Path) -> None:
    """The worker's engine cannot run the service: starting says what to do."""
    import asyncio

    from innerspace.config import Settings
    from innerspace.engines.base import EngineError
    from innerspace.engines.swarm import SwarmEngine

    settings = Settings(data_dir=tmp_path, engine="swarm",
                        docker_host="unix:///run/innerspace/isnode2/docker.sock")
    engine = SwarmEngine.from_settings(settings)
    try:
        with pytest.raises(EngineError, match="not a Swarm manager"):
            asyncio.run(engine.open())
    finally:
        asyncio.run(engine.close())


def test_log_followers_end_with_their_jobs(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService]) -> None:
    """A Swarm log stream does not end when its task does; the engine must shut each one
    down, or every finished job would keep a thread blocked (and, once the threads run out,
    stop progress reports)."""
    import sys
    import threading

    live = swarm_service(make_service, swarm_cluster, limits={"max_running_jobs": 1},
                         swarm={"constraints": [ON_MANAGER]})
    with live.client() as http:
        for i in range(12):
            url = create(http, {"app": "hello", "name": f"f{i}", "PHASE": "RUN"})
            assert phase_of(wait_final(http, url)) == "COMPLETED"

    def following() -> list[str]:
        frames = sys._current_frames()
        busy = []
        for thread in threading.enumerate():
            frame = frames.get(thread.ident or 0)
            names = []
            while frame is not None:
                names.append(frame.f_code.co_name)
                frame = frame.f_back
            if thread.name.startswith("swarm-logs") and "follow" in names:
                busy.append(thread.name)
        return busy

    wait_until(lambda: not following(), 10, "log followers to end")
