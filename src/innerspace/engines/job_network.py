"""One network per job on the local engine, so that jobs never reach each other.

The data centre's inner APIs are containers on its inner network
(`datacentre.inner_network`). A job whose app needs them does not join that network:
it gets an internal bridge network of its own, created for it and removed with it, to
which the inner API containers are connected under the same aliases they have on the
inner network. The job reaches every inner API by the name it knows, and nothing else:
no other job (of any owner), no gateway, no route out.

The calls here block: run them on the engine's pool.
"""

from __future__ import annotations

import contextlib
from typing import Any

import docker
from docker.errors import APIError, NotFound

from innerspace.engines.base import JOB_LABEL, SERVICE_LABEL, ContainerSpec, job_labels

ROLE_LABEL = "org.innerspace.network"  # "inner": the inner network; "job": a job's own
PREFIX = "innerspace-job-"


def job_network_name(job_id: str) -> str:
    """The name of a job's own network."""
    return f"{PREFIX}{job_id}"


class JobNetworks:
    """Creates and removes the jobs' own networks on one Docker engine."""

    def __init__(self, api: docker.APIClient) -> None:
        self._api = api

    def ensure_inner(self, name: str) -> None:
        """The inner network itself (internal: no route out), made if missing, so that an
        operator can attach the inner API containers to it."""
        if not self._named(name):
            self._api.create_network(name, driver="bridge", internal=True,
                                     labels={ROLE_LABEL: "inner"})

    def create(self, spec: ContainerSpec, inner: str) -> str:
        """The job's own internal network, with every inner API container of network
        `inner` connected to it under its aliases there; its name."""
        self.ensure_inner(inner)
        name = job_network_name(spec.job_id)
        self.remove(name)  # a job run again after a crash starts from scratch
        self._api.create_network(name, driver="bridge", internal=True,
                                 labels={**job_labels(spec), ROLE_LABEL: "job"})
        try:
            for container, aliases in self._inner_apis(inner):
                self._api.connect_container_to_network(container, name, aliases=aliases)
        except Exception:
            self.remove(name)
            raise
        return name

    def _inner_apis(self, inner: str) -> list[tuple[str, list[str]]]:
        """The containers on the inner network that are not jobs, with their aliases."""
        found = []
        network = self._api.inspect_network(inner)
        for container_id in network.get("Containers") or {}:
            with contextlib.suppress(NotFound):  # gone meanwhile
                attrs = self._api.inspect_container(container_id)
                if JOB_LABEL in (attrs["Config"].get("Labels") or {}):
                    continue  # a job's container from before jobs had networks of their own
                endpoint = attrs["NetworkSettings"]["Networks"].get(inner) or {}
                aliases = [a for a in endpoint.get("Aliases") or []
                           if not container_id.startswith(a)]  # not its short id
                found.append((container_id, aliases))
        return found

    def remove(self, name: str) -> None:
        """Disconnect everything from the job's network and remove it; a no-op if gone."""
        with contextlib.suppress(NotFound):
            network = self._api.inspect_network(name)
            for container_id in network.get("Containers") or {}:
                with contextlib.suppress(NotFound, APIError):
                    self._api.disconnect_container_from_network(container_id, name,
                                                                force=True)
            self._api.remove_network(name)

    def leftovers(self, service_id: str, live_jobs: set[str]) -> list[str]:
        """The job networks of service `service_id` whose job has no container any more."""
        networks = self._api.networks(filters={"label": [f"{ROLE_LABEL}=job",
                                                         f"{SERVICE_LABEL}={service_id}"]})
        return [n["Name"] for n in networks
                if (n.get("Labels") or {}).get(JOB_LABEL) not in live_jobs]

    def _named(self, name: str) -> list[dict[str, Any]]:
        return [n for n in self._api.networks(names=[name]) if n.get("Name") == name]
