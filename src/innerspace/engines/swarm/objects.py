"""The objects innerspace makes on a swarm: their names and role labels, and the overlay
networks (cleanup.py removes them)."""

from __future__ import annotations

import docker

from innerspace.engines.base import EngineError

# What an object is for: "job", "stage" (the stage server), "network" (the stage server's
# own), "job-network" (a job's own network to the stage server), "stage-script".
ROLE_LABEL = "org.innerspace.role"


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
