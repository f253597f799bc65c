"""Hostile jobs on a real two-node swarm: the app cannot get its staging token (it is in the
wrapper's environment, and the wrapper is non-dumpable), a token opens its own job's files
and only while the job runs, a job cannot reach another job over the staging network (each
job has one of its own), the job's rlimits and result quota hold."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.paths import TEST_APPS
from tests.support.services import LiveService
from tests.support.swarm import SwarmCluster
from tests.support.uwsutil import UWS, create, wait_final, wait_phase

ON_WORKER = "node.labels.org.innerspace.node==isnode2"
ON_MANAGER = "node.labels.org.innerspace.node==manager"
PORT = 7777


def job_id(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def swarm_service(make_service: Callable[..., LiveService], cluster: SwarmCluster,
                  **settings: Any) -> LiveService:
    swarm = settings.pop("swarm", {})
    return make_service(**cluster.settings(**swarm), **settings)


def staging_env(cluster: SwarmCluster, job: str) -> dict[str, str]:
    """The staging URL and token the service gave a job's wrapper (from its Swarm service)."""
    [service] = cluster.manager.api.services(filters={"name": f"innerspace-job-{job}"})
    env = service["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    return dict(item.split("=", 1) for item in env if item.startswith("INNERSPACE_STAGE_"))


@pytest.fixture(scope="module")
def probe_image(build_app: Callable[..., str], swarm_cluster: SwarmCluster) -> str:
    image = build_app(TEST_APPS / "probe")
    swarm_cluster.copy_image(image)
    return image


def test_the_app_cannot_read_its_token_and_runs_under_its_rlimits(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService],
        probe_image: str) -> None:
    live = swarm_service(make_service, swarm_cluster, swarm={"constraints": [ON_WORKER]},
                         limits={"max_result_size": "50M", "max_open_files": 200})
    with live.client() as http:
        url = create(http, {"app": "probe", "sleep": 3, "PHASE": "RUN"})
        wait_phase(http, url, "EXECUTING")
        token = staging_env(swarm_cluster, job_id(url))["INNERSPACE_STAGE_TOKEN"]
        ticket = live.data_dir / "jobs" / job_id(url) / "stage-ticket.json"
        assert json.loads(ticket.read_text())["token"] == token
        root = wait_final(http, url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        report = json.loads(http.get(f"{url}/results/probe.json").content)
    assert not ticket.exists(), "the token died with the job"
    seen = report["pid1"]
    assert seen["environ"].startswith("denied"), seen["environ"]
    assert seen["mem"].startswith("denied"), seen["mem"]
    assert seen["ptrace"].startswith("denied"), seen["ptrace"]
    assert "job.py" in seen["cmdline"], "the app does see the wrapper's command line"
    assert token not in json.dumps(report), "the token appears nowhere the app can look"
    assert not [k for k in report["env"] if k.startswith("INNERSPACE_STAGE")]
    assert report["rlimits"] == {"fsize": [50 * 1024 * 1024] * 2, "nofile": [200, 200]}


def test_a_token_opens_its_own_running_job_only(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService]) -> None:
    """From a container on a job's own network: its token fetches its files; another job's
    files, a made-up token and a path outside results are refused."""
    live = swarm_service(make_service, swarm_cluster, swarm={"constraints": [ON_MANAGER]})
    with live.client() as http:
        mine = create(http, {"app": "hello", "name": "a", "delay": "60", "PHASE": "RUN"})
        other = create(http, {"app": "hello", "name": "b", "delay": "60", "PHASE": "RUN"})
        wait_phase(http, mine, "EXECUTING")
        wait_phase(http, other, "EXECUTING")
        stage = staging_env(swarm_cluster, job_id(mine))
        base, token = stage["INNERSPACE_STAGE_URL"], stage["INNERSPACE_STAGE_TOKEN"]
        other_base = base.replace(job_id(mine), job_id(other))
        script = (
            "import urllib.request as u, urllib.error as e\n"
            "def ask(url, tok, method='GET', data=None):\n"
            "    req = u.Request(url, data=data, method=method,\n"
            "                    headers={'Authorization': 'Bearer ' + tok})\n"
            "    try:\n"
            "        return u.urlopen(req, timeout=10).status\n"
            "    except e.HTTPError as x:\n"
            "        return x.code\n"
            f"base, other, tok = {base!r}, {other_base!r}, {token!r}\n"
            "print(ask(base + '/files', tok), ask(other + '/files', tok),\n"
            "      ask(base + '/files', '0' * 64),\n"
            "      ask(base + '/results/..%2f..%2fx', tok, 'PUT', b'x'),\n"
            "      ask(base + '/files/..%2fstage-ticket.json', tok))\n")
        network = f"innerspace-stage-{live.settings.service_id[:12]}-{job_id(mine)}"
        client = swarm_cluster.manager
        container = client.containers.run("innerspace/base:bookworm", ["python3", "-c", script],
                                          network=network, detach=True)
        try:
            assert container.wait(timeout=120)["StatusCode"] == 0
            answers = container.logs().decode().split()
        finally:
            container.remove(force=True)
        for url in (mine, other):
            http.post(f"{url}/phase", data={"PHASE": "ABORT"})
    assert answers == ["200", "403", "403", "400", "404"]


def container_address(cluster: SwarmCluster, job: str) -> tuple[Any, str]:
    """The job's running container (on whichever node runs it) and its address on its
    network, once it runs."""
    found: list[Any] = []

    def running() -> bool:
        for engine in (cluster.manager, cluster.worker):
            found[:] = engine.containers.list(filters={"label": f"org.innerspace.job={job}"})
            if found:
                return True
        return False

    wait_until(running, 60, f"a running container of job {job}")
    networks = found[0].attrs["NetworkSettings"]["Networks"]
    return found[0], next(n["IPAddress"] for n in networks.values())


def test_a_job_cannot_reach_another_job_over_staging(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService],
        probe_image: str) -> None:
    live = swarm_service(make_service, swarm_cluster, tokens={"a": "alice", "m": "mallory"},
                         swarm={"constraints": [ON_WORKER]})
    with live.client("a") as alice, live.client("m") as mallory:
        listener = create(alice, {"app": "probe", "listen": PORT, "sleep": 90, "PHASE": "RUN"})
        wait_phase(alice, listener, "EXECUTING")
        container, address = container_address(swarm_cluster, job_id(listener))
        check = ["python3", "-c", "import socket, sys, time\n"
                 "for _ in range(300):\n"
                 "    try:\n"
                 f"        socket.create_connection(('{address}', {PORT}), 2)\n"
                 "        sys.exit(0)\n"
                 "    except OSError:\n"
                 "        time.sleep(0.1)\n"
                 "sys.exit(1)\n"]
        assert container.exec_run(check, user="10001:10001").exit_code == 0, "it listens"
        prober = create(mallory, {"app": "probe", "connect": f"{address}:{PORT}",
                                  "PHASE": "RUN"})
        root = wait_final(mallory, prober)
        assert root.findtext(f"{UWS}phase") == "COMPLETED", "it staged over its own network"
        report = json.loads(mallory.get(f"{prober}/results/probe.json").content)
        alice.post(f"{listener}/phase", data={"PHASE": "ABORT"})
        wait_final(alice, listener)
    assert report["connect"] == {f"{address}:{PORT}": False}

    def job_networks() -> list[str]:
        return [n["Name"] for n in swarm_cluster.manager.api.networks()
                if any(job_id(url) in n["Name"] for url in (listener, prober))]

    wait_until(lambda: not job_networks(), 90, "the jobs' networks to be removed")


def test_results_over_the_quota_end_the_job_in_error(
        swarm_cluster: SwarmCluster, make_service: Callable[..., LiveService],
        probe_image: str) -> None:
    live = swarm_service(make_service, swarm_cluster, swarm={"constraints": [ON_WORKER]},
                         limits={"max_result_size": "16K"})
    with live.client() as http:
        url = create(http, {"app": "probe", "fill_kib": 20, "PHASE": "RUN"})
        root = wait_final(http, url)
        stderr = http.get(f"{url}/results/stderr").text
    assert root.findtext(f"{UWS}phase") == "ERROR"
    message = root.findtext(f"{UWS}errorSummary/{UWS}message") or ""
    assert "status 75" in message, message  # a staging failure (EX_TEMPFAIL)
    assert "more than the job's quota of 16384 bytes" in stderr, stderr
    results = live.data_dir / "jobs" / job_id(url) / "results"
    assert not [p for p in results.rglob("*") if p.name.startswith("fill-")]
