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

# What an object is for: "job", "stage" (the stage server), "network", "stage-script".
ROLE_LABEL = "org.innerspace.role"
NETWORK_GONE_TIMEOUT = 30.0  # seconds to wait for a network's tasks to detach


def stage_name(service_id: str) -> str:
    """The name of a service's stage server, and of its overlay network."""
    return f"innerspace-stage-{service_id[:12]}"


def job_service_name(job_id: str) -> str:
    """The name of a job's Swarm service."""
    return f"innerspace-job-{job_id}"


def ensure_overlay_network(api: docker.APIClient, name: str, *, internal: bool,
                           attachable: bool) -> None:
    """A swarm-wide overlay network of that name, created if missing; an EngineError when
    a network local to one engine already has the name."""
    found = [n for n in api.networks(names=[name]) if n.get("Name") == name]
    if not found:
        api.create_network(name, driver="overlay", internal=internal, attachable=attachable,
                           scope="swarm", labels={ROLE_LABEL: "network"})
    elif found[0].get("Scope") != "swarm":
        raise EngineError(f"network {name} exists but is local to one engine; the Swarm "
                          f"engine needs an overlay network of that name")


def remove_swarm_objects(client: docker.DockerClient, service_id: str | None = None) -> None:
    """Remove what innerspace made on a swarm (job services, stage servers, staging
    networks), of one service or of all; for taking an installation or a test down."""
    selector = f"{SERVICE_LABEL}={service_id}" if service_id else ROLE_LABEL
    for service in client.api.services(filters={"label": selector}):
        with contextlib.suppress(NotFound):
            client.api.remove_service(service["ID"])
    networks = client.api.networks(filters={"label": f"{ROLE_LABEL}=network"})
    if service_id:
        networks = [n for n in networks if n["Name"].endswith(service_id[:12])]
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
