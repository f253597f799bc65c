"""Jobs never reach each other: each job that needs inner APIs gets a network of its own with
the inner API containers on it, so one owner's job listening on a port cannot be reached by
another owner's job, while both reach the inner file service; the job's network goes with
its container."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.inner import datacentre
from tests.support.paths import TEST_APPS
from tests.support.uwsutil import UWS, create, wait_final, wait_phase

PORT = 7777


@pytest.fixture(scope="module")
def probe_image(build_app: Callable[..., str]) -> str:
    return build_app(TEST_APPS / "inner-probe")


def collections(tmp_path: Path) -> tuple[Path, Path]:
    sky, extra = tmp_path / "sky", tmp_path / "private"
    for path in (sky, extra):
        path.mkdir()
        path.chmod(0o755)
    return sky, extra


def listening_at(docker_client: Any, job_id: str) -> str:
    """The address of a running job's listener on its own network, once it listens (seen
    from inside its own container: the listener is really there)."""
    [container] = docker_client.containers.list(filters={"label": f"org.innerspace.job={job_id}"})
    networks = container.attrs["NetworkSettings"]["Networks"]
    assert list(networks) == [f"innerspace-job-{job_id}"], "the job's own network only"
    address = f"{networks[f'innerspace-job-{job_id}']['IPAddress']}:{PORT}"
    check = ["python3", "-c", "import socket, sys, time\n"
             "for _ in range(300):\n"
             "    try:\n"
             f"        socket.create_connection(('{address.split(':')[0]}', {PORT}), 2)\n"
             "        sys.exit(0)\n"
             "    except OSError:\n"
             "        time.sleep(0.1)\n"
             "sys.exit(1)\n"]
    assert container.exec_run(check, user="10001:10001").exit_code == 0, "it listens"
    return address


def test_a_job_cannot_reach_another_owners_job(
        probe_image: str, two_networks: dict[str, Any], make_service: Any,
        docker_client: Any, tmp_path: Path) -> None:
    sky, extra = collections(tmp_path)
    service = make_service(datacentre=datacentre(two_networks["network"], sky, extra),
                           tokens={"secret-a": "alice", "secret-m": "mallory"})
    with service.client("secret-a") as alice, service.client("secret-m") as mallory:
        listener = create(alice, {"app": "inner-probe", "listen": PORT, "hold": 120,
                                  "PHASE": "RUN"})
        wait_phase(alice, listener, "EXECUTING")
        listener_id = listener.rsplit("/", 1)[-1]
        address = listening_at(docker_client, listener_id)
        prober = create(mallory, {"app": "inner-probe", "forbidden": address, "PHASE": "RUN"})
        root = wait_final(mallory, prober)
        assert root.findtext(f"{UWS}phase") == "COMPLETED", root.findtext(
            f"{UWS}errorSummary/{UWS}message")
        report = json.loads(mallory.get(f"{prober}/results/report.json").content)
        alice.post(f"{listener}/phase", data={"PHASE": "ABORT"})
        assert wait_final(alice, listener).findtext(f"{UWS}phase") == "ABORTED"
    assert report["forbidden"] == {address: False}, "the other job is out of reach"
    assert report["served"] == "from the inner file service\n", "the inner API answers"

    def job_networks() -> list[str]:
        return [n.name for n in docker_client.networks.list(names=["innerspace-job-"])
                if n.name in (f"innerspace-job-{listener_id}",
                              f"innerspace-job-{prober.rsplit('/', 1)[-1]}")]

    deadline = time.monotonic() + 60  # containers (and networks) go just after the end
    while job_networks() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job_networks() == [], "each job's network goes with its container"
