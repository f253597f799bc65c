"""Restarting the service loses nothing: running containers are re-attached, finished ones
are collected, queued jobs start in order, and other services' containers are left alone."""

from __future__ import annotations

import time
from typing import Any

from tests.support.uwsutil import UWS, create, results, wait_final, wait_phase


def test_restart_reattaches_collects_and_keeps_queue(make_service: Any,
                                                     docker_client: Any) -> None:
    service = make_service(limits={"max_running_jobs": 1})
    with service.client() as http:
        # Long enough to be seen EXECUTING (never a phase caught in passing); it then ends
        # while no service watches it: the test waits for its container to exit.
        finishes_while_down = create(http, {"app": "hello", "name": "early", "delay": 5,
                                            "PHASE": "RUN"})
        wait_phase(http, finishes_while_down, "EXECUTING")
    service.stop()
    job_label = {"label": f"org.innerspace.job={finishes_while_down.rsplit('/', 1)[-1]}"}
    deadline = time.monotonic() + 120
    while docker_client.api.containers(filters={**job_label, "status": "running"}):
        assert time.monotonic() < deadline, "the job's container never ended"
        time.sleep(0.5)
    service.start()
    with service.client() as http:
        root = wait_final(http, finishes_while_down)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert http.get(f"{finishes_while_down}/results/greeting.txt").text == "Hello, early!\n"

        # Runs far longer than a restart takes, so it is still EXECUTING after it.
        still_running = create(http, {"app": "hello", "name": "late", "delay": 30,
                                      "PHASE": "RUN"})
        queued = create(http, {"app": "hello", "name": "queued", "PHASE": "RUN"})
        wait_phase(http, still_running, "EXECUTING")
        assert http.get(f"{queued}/phase").text == "QUEUED"
    service.restart()
    with service.client() as http:
        assert http.get(f"{still_running}/phase").text == "EXECUTING", "re-attached"
        root = wait_final(http, still_running)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert set(results(root)) == {"greeting.txt", "stdout", "stderr"}
        queued_root = wait_final(http, queued)
        assert queued_root.findtext(f"{UWS}phase") == "COMPLETED"
        assert queued_root.findtext(f"{UWS}startTime") >= root.findtext(f"{UWS}endTime")
    # The low-level listing: containers.list() would inspect each one and race their removal.
    label = {"label": f"org.innerspace.service={service.settings.service_id}"}
    leftovers = docker_client.api.containers(all=True, filters=label)
    deadline = time.monotonic() + 10
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.2)
        leftovers = docker_client.api.containers(all=True, filters=label)
    assert leftovers == [], "finished containers are removed"


def test_lost_container_is_an_error(make_service: Any, docker_client: Any) -> None:
    service = make_service()
    with service.client() as http:
        job_url = create(http, {"app": "hello", "delay": 30, "PHASE": "RUN"})
        wait_phase(http, job_url, "EXECUTING")
    service.stop()
    job_id = job_url.rsplit("/", 1)[-1]
    for container in docker_client.containers.list(
            all=True, filters={"label": f"org.innerspace.job={job_id}"}):
        container.remove(force=True)
    service.start()
    with service.client() as http:
        root = wait_final(http, job_url)
    assert root.findtext(f"{UWS}phase") == "ERROR"
    assert "lost" in root.findtext(f"{UWS}errorSummary/{UWS}message")


def test_two_services_on_one_engine_leave_each_other_alone(make_service: Any) -> None:
    first = make_service()
    second = make_service()
    with first.client() as http:
        job_url = create(http, {"app": "hello", "name": "one", "delay": 3, "PHASE": "RUN"})
        wait_phase(http, job_url, "EXECUTING")
        second.restart()  # its recovery must not touch the first service's container
        root = wait_final(http, job_url)
    assert root.findtext(f"{UWS}phase") == "COMPLETED"
