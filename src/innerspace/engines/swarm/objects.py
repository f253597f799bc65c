"""The objects innerspace makes on a swarm: their names and role labels, the overlay
networks, and how to remove them all (when an installation or a test is taken down)."""

from __future__ import annotations

import contextlib
import logging
import time

import docker
from docker.errors import APIError, NotFound

from innerspace.engines.base import SERVICE_LABEL, EngineError

log = logging.getLogger(__name__)

# What an object is for: "job", "stage" (the stage server), "network" (the stage server's
# own), "job-network" (a job's own network to the stage server), "stage-script".
ROLE_LABEL = "org.innerspace.role"
NETWORK_GONE_TIMEOUT = 30.0  # seconds to wait for a network's tasks to detach


def stage_name(service_id: str) -> str:
    """The name of a service's stage server, and of its own network."""
    return f"innerspace-stage-{service_id[:12]}"


def job_service_name(job_id: str) -> str:
    """The name of a job's Swarm service."""
    return f"innerspace-job-{job_id}"


def ensure_overlay_network(api: docker.APIClient, name: str, *, internal: bool,
                           attachable: bool, labels: dict[str, str] | None = None) -> None:
    """A swarm-wide overlay network of that name, created if missing; an EngineError when
    a network local to one engine already has the name."""
    found = [n for n in api.networks(names=[name]) if n.get("Name") == name]
    if not found:
        api.create_network(name, driver="overlay", internal=internal, attachable=attachable,
                           scope="swarm", labels=labels or {ROLE_LABEL: "network"})
    elif found[0].get("Scope") != "swarm":
        raise EngineError(f"network {name} exists but is local to one engine; the Swarm "
                          f"engine needs an overlay network of that name")


def remove_swarm_objects(client: docker.DockerClient, service_id: str | None = None) -> None:
    """Remove what innerspace made on a swarm (job services, stage servers, the jobs' and
    the stage servers' networks), of one service or of all; for taking an installation or
    a test down."""
    selector = f"{SERVICE_LABEL}={service_id}" if service_id else ROLE_LABEL
    for service in client.api.services(filters={"label": selector}):
        with contextlib.suppress(NotFound):
            client.api.remove_service(service["ID"])
    for container in client.api.containers(all=True, filters={"label": [
            selector, f"{ROLE_LABEL}=stage"]}):
        with contextlib.suppress(NotFound):
            client.api.remove_container(container["Id"], force=True)
    networks = [n for n in client.api.networks(filters={"label": selector})
                if (n.get("Labels") or {}).get(ROLE_LABEL) in ("network", "job-network")]
    if not service_id:  # networks of services from before networks carried their service
        networks += [n for n in client.api.networks(filters={"label": f"{ROLE_LABEL}=network"})
                     if n not in networks]
    deadline = time.monotonic() + NETWORK_GONE_TIMEOUT
    for network in networks:
        while True:
            try:
                client.api.remove_network(network["Id"])
                break
            except NotFound:
                break
            except APIError:  # its tasks are still detaching
                if time.monotonic() > deadline:
                    log.warning("network %s is still in use", network["Name"])
                    break
                time.sleep(0.5)
