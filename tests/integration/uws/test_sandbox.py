"""The container sandbox, checked from inside a real container and from the engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.paths import TEST_APPS
from tests.support.services import LiveService
from tests.support.uwsutil import create, results, wait_final, wait_phase

PROBE = TEST_APPS / "probe"


@pytest.fixture(scope="module")
def probe_image(build_app: Callable[..., str]) -> str:
    return build_app(PROBE)


def run_probe(service: LiveService, **params: Any) -> tuple[Any, dict[str, Any]]:
    with service.client() as http:
        job_url = create(http, {"app": "probe", "PHASE": "RUN", **params})
        root = wait_final(http, job_url)
        report = json.loads(http.get(f"{job_url}/results/probe.json").content)
    return root, report


def test_container_is_locked_down(probe_image: str, service: LiveService) -> None:
    root, report = run_probe(service)
    assert root.findtext("{http://www.ivoa.net/xml/UWS/v1.0}phase") == "COMPLETED"
    assert report["uid"] == 10001 and report["euid"] == 10001 and report["gid"] == 10001
    assert int(report["cap_eff"], 16) == 0, "all capabilities are dropped"
    assert int(report["cap_bnd"], 16) == 0, "nothing can be regained"
    assert report["no_new_privs"] == "1"
    assert report["root_writable"] is report["app_writable"] is False, "root fs is read-only"
    assert report["tmp_writable"] is True, "/tmp is a writable tmpfs"
    assert report["inputs_writable"] is False, "inputs are read-only"
    assert report["results_writable"] is True
    assert report["network"]["interfaces"] == ["lo"], "no network but loopback"
    assert report["network"]["outside_reachable"] is False
    assert int(report["pids_max"]) == service.settings.limits.pids
    assert int(report["memory_limit"]) == 64 * 1024 * 1024, "memory from the manifest"
    assert int(report["cpu_quota"]) / int(report["cpu_period"]) == pytest.approx(0.5)
    assert report["env"]["INNERSPACE_RESULTS"] == "/innerspace/results"
    assert report["argv"] == ["--sleep=0.0", "--exit=0"]


def test_server_limits_cap_the_manifest(probe_image: str, make_service: Any) -> None:
    capped = make_service(limits={"max_memory": "32M", "max_cores": 0.25, "pids": 64,
                                  "max_result_size": "50M", "max_open_files": 200})
    _, report = run_probe(capped)
    assert int(report["memory_limit"]) == 32 * 1024 * 1024
    assert int(report["cpu_quota"]) / int(report["cpu_period"]) == pytest.approx(0.25)
    assert int(report["pids_max"]) == 64
    assert report["rlimits"] == {"fsize": [50 * 1024 * 1024] * 2, "nofile": [200, 200]}


def test_container_is_labelled_with_job_and_owner(probe_image: str, make_service: Any,
                                                  docker_client: Any) -> None:
    service = make_service(tokens={"secret-a": "alice"})
    with service.client("secret-a") as http:
        job_url = create(http, {"app": "probe", "sleep": 20, "PHASE": "RUN"})
        job_id = job_url.rsplit("/", 1)[-1]
        wait_phase(http, job_url, "EXECUTING")
        [container] = docker_client.containers.list(
            filters={"label": f"org.innerspace.job={job_id}"})
        labels = container.labels
        config = container.attrs["HostConfig"]
        http.post(f"{job_url}/phase", data={"PHASE": "ABORT"})
    assert labels["org.innerspace.owner"] == "alice"
    assert labels["org.innerspace.app"] == "probe:1.0.0"
    assert config["ReadonlyRootfs"] is True
    assert config["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in config["SecurityOpt"]
    assert config["NetworkMode"] == "none"
    assert container.attrs["Config"]["User"] == "10001:10001"


def test_non_zero_exit_is_an_error_with_stderr(probe_image: str, service: LiveService) -> None:
    root, _ = run_probe(service, exit_code=3)
    uws = "{http://www.ivoa.net/xml/UWS/v1.0}"
    assert root.findtext(f"{uws}phase") == "ERROR"
    message = root.findtext(f"{uws}errorSummary/{uws}message")
    assert "exited with status 3" in message and "probe finished" in message
    assert {"probe.json", "stdout", "stderr"} <= set(results(root)), "results survive errors"


def test_out_of_memory_is_reported(probe_image: str, service: LiveService) -> None:
    root, _ = run_probe_oom(service)
    uws = "{http://www.ivoa.net/xml/UWS/v1.0}"
    assert root.findtext(f"{uws}phase") == "ERROR"
    assert "out of memory" in root.findtext(f"{uws}errorSummary/{uws}message")


def run_probe_oom(service: LiveService) -> tuple[Any, None]:
    with service.client() as http:
        job_url = create(http, {"app": "probe", "allocate_mb": 200, "PHASE": "RUN"})
        return wait_final(http, job_url), None
