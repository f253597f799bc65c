"""Staging on a swarm, the manager's side: the stage server (a container on this node, with
the jobs directory mounted), each job's own overlay network to it, each job's ticket (the
token that opens its files while it runs), and the Swarm config that carries the stdlib
job wrapper (engines/staging/job.py) to the nodes.

Why one network per job: on a network shared by all jobs, a job could connect to any other
job's container. A job's network holds only that job's container and the stage server, so
a job reaches the stage server and nothing else. The stage server is a plain container, not
a Swarm service, because a Swarm service can only join new networks through a rolling
update (a restart); a container joins and leaves a job's network (attachable) at once.

The calls here block: run them on the engine's pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.types import ConfigReference, LogConfig

from innerspace.config import Swarm as SwarmSettings
from innerspace.engines.base import JOB_LABEL, SERVICE_LABEL, ContainerSpec
from innerspace.engines.staging import STAGE_PORT, script
from innerspace.engines.swarm.cleanup import LOCK_LABEL, remove_service_objects, service_objects
from innerspace.engines.swarm.objects import ROLE_LABEL, ensure_overlay_network, stage_name

STAGE_DIR = "/innerspace-stage"  # where the job wrapper appears inside job containers
SCRIPT_LABEL = "org.innerspace.stage-script"  # the stage server's fingerprint
TICKET = "stage-ticket.json"  # in a job's directory while it runs (engines/staging/server.py)
NETWORK_GONE_TIMEOUT = 30.0  # seconds for a job's task to leave its network
STAGE_MEMORY = 512 * 1024 * 1024
STAGE_PIDS = 256


class StageServer:
    """The stage server of one innerspace service: its container and home network share
    one name; each job gets a network of its own, `job_network(job_id)`."""

    def __init__(self, api: docker.APIClient, *, service_id: str, jobs_dir: Path,
                 options: SwarmSettings, uid: int, gid: int, lock_file: Path) -> None:
        self._api = api
        self._service_id = service_id
        self._jobs_dir = jobs_dir
        self._lock_file = lock_file
        self._options = options
        self._uid, self._gid = uid, gid
        self.name = stage_name(service_id)

    def job_network(self, job_id: str) -> str:
        return f"{self.name}-{job_id}"

    # -- the stage server itself -------------------------------------------------------------

    def script_config(self, script_name: str) -> ConfigReference:
        """The Swarm config holding one staging script (created once per version of the
        script), as containers see it under STAGE_DIR. Each service has its own, labelled
        with it, so that a service that stops can remove its own without pulling one from
        under another service on the same swarm."""
        data = script(script_name)
        digest = hashlib.sha256(data).hexdigest()[:16]
        name = f"{self.name}-{script_name.removesuffix('.py')}-{digest}"
        existing = self._api.configs(filters={"name": name})
        match = next((c for c in existing if c["Spec"]["Name"] == name), None)
        config_id = match["ID"] if match else self._api.create_config(
            name, data, labels={ROLE_LABEL: "stage-script",
                                SERVICE_LABEL: self._service_id})["ID"]
        return ConfigReference(config_id, name, filename=f"{STAGE_DIR}/{script_name}",
                               uid=str(self._uid), gid=str(self._gid), mode=0o444)

    def _container_config(self) -> dict[str, Any]:
        image = self._api.inspect_image(self._options.stage_image)["Id"]
        return {
            "image": image,
            "command": ["python3", "-c", script("server.py").decode()],
            "environment": {"INNERSPACE_STAGE_JOBS": "/jobs",
                            "INNERSPACE_STAGE_PORT": str(STAGE_PORT),
                            "INNERSPACE_STAGE_MAX_BYTES": str(self._options.stage_size),
                            "INNERSPACE_STAGE_WORKERS": str(self._options.stage_workers),
                            "INNERSPACE_STAGE_TIMEOUT": str(self._options.stage_timeout)},
            "user": f"{self._uid}:{self._gid}",
        }

    def ensure(self) -> None:
        """The stage server, running, on its home network and on the network of every job
        of this service; replaced when its script or settings change."""
        self._ensure_home()
        config = self._container_config()
        fingerprint = hashlib.sha256(json.dumps([config, str(self._lock_file)],
                                                sort_keys=True).encode()).hexdigest()
        current = self._current()
        if current is not None and current["Config"]["Labels"].get(SCRIPT_LABEL) != fingerprint:
            self._api.remove_container(current["Id"], force=True)
            current = None
        if current is None:
            self._jobs_dir.mkdir(parents=True, exist_ok=True)
            host_config = self._api.create_host_config(
                binds={str(self._jobs_dir): {"bind": "/jobs", "mode": "rw"}},
                read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges"],
                network_mode=self.name, restart_policy={"Name": "unless-stopped"},
                mem_limit=STAGE_MEMORY, pids_limit=STAGE_PIDS,
                log_config=LogConfig(type="json-file", config={"max-size": "10m",
                                                               "max-file": "1"}))
            self._api.create_container(
                **config, name=self.name, host_config=host_config,
                labels={SERVICE_LABEL: self._service_id, ROLE_LABEL: "stage",
                        SCRIPT_LABEL: fingerprint, LOCK_LABEL: str(self._lock_file)})
            current = self._api.inspect_container(self.name)
        if not current["State"].get("Running"):
            self._api.start(self.name)
        joined = set(current["NetworkSettings"]["Networks"])
        for network in self._api.networks(filters={"label": [f"{ROLE_LABEL}=job-network",
                                                             f"{SERVICE_LABEL}={self._service_id}"]}):
            if network["Name"] not in joined:
                self._api.connect_container_to_network(self.name, network["Id"])

    def _ensure_home(self) -> None:
        """The stage server's own network: local, internal, joined by no job. Earlier
        versions ran the stage server as a Swarm service on an overlay of this name shared
        by all jobs: both go."""
        for service in self._api.services(filters={"name": self.name}):
            if service["Spec"]["Name"] == self.name:
                self._api.remove_service(service["ID"])
        found = [n for n in self._api.networks(names=[self.name]) if n.get("Name") == self.name]
        if found and found[0].get("Driver") != "bridge":
            self._remove_network(found[0]["Id"])
            found = []
        if not found:
            self._api.create_network(self.name, driver="bridge", internal=True,
                                     labels={ROLE_LABEL: "network",
                                             SERVICE_LABEL: self._service_id})

    def take_down(self) -> int:
        """Remove the stage server, its networks and the service's configs, unless job
        services of this service are still on the swarm (jobs running when the service
        stops: they need the stage server to send their results back, and the service picks
        them up when it starts again). How many job services kept it (0: taken down)."""
        jobs = service_objects(self._api, self._service_id)["jobs"]
        if not jobs:
            remove_service_objects(self._api, self._service_id)
        return len(jobs)

    def _current(self) -> dict[str, Any] | None:
        try:
            return dict(self._api.inspect_container(self.name))
        except NotFound:
            return None

    def state(self) -> str | None:
        """The stage server's state ("running" when it runs; None: there is none)."""
        current = self._current()
        return None if current is None else str(current["State"].get("Status"))

    # -- one job ----------------------------------------------------------------------------

    def open_job(self, spec: ContainerSpec, result_quota: int) -> tuple[str, str, str]:
        """The job's network (created, with the stage server on it), the URL of its files
        there, and the token that opens them (its ticket, written now)."""
        network = self.job_network(spec.job_id)
        ensure_overlay_network(self._api, network, internal=True, attachable=True,
                               labels={ROLE_LABEL: "job-network", JOB_LABEL: spec.job_id,
                                       SERVICE_LABEL: self._service_id})
        attrs = self._api.inspect_container(self.name)
        if network not in attrs["NetworkSettings"]["Networks"]:
            self._api.connect_container_to_network(self.name, network)
            attrs = self._api.inspect_container(self.name)
        address = attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        token = self.write_ticket(spec.job_id, result_quota)
        return network, f"http://{address}:{STAGE_PORT}/jobs/{spec.job_id}", token

    def write_ticket(self, job_id: str, result_quota: int) -> str:
        """A new random token for the job, written (0600, for the stage server's user)
        into the job's directory; it opens the job's files until `close_ticket`."""
        token = secrets.token_hex(32)
        path = self._jobs_dir / job_id / TICKET
        partial = path.with_name(f".{TICKET}.new")
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            json.dump({"token": token, "result_quota": result_quota}, stream)
        if os.geteuid() == 0:  # the stage server runs as the sandbox user
            os.chown(partial, self._uid, self._gid)
        else:  # it cannot be given away: readable on the host, still only on a job network
            partial.chmod(0o644)
        os.replace(partial, path)
        return token

    def close_ticket(self, job_id: str) -> None:
        """The job has ended: its token opens nothing from now on."""
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            (self._jobs_dir / job_id / TICKET).unlink()

    def close_network(self, job_id: str) -> None:
        """Take the stage server off the job's network and remove it, once the job's task
        has left it (the job's service must have been removed)."""
        network = self.job_network(job_id)
        with contextlib.suppress(NotFound, APIError):
            self._api.disconnect_container_from_network(self.name, network, force=True)
        self._remove_network(network)

    def _remove_network(self, network: str) -> None:
        """Remove a network once the tasks on it have left (they detach after their
        service is removed)."""
        deadline = time.monotonic() + NETWORK_GONE_TIMEOUT
        while True:
            try:
                self._api.remove_network(network)
                return
            except NotFound:
                return
            except APIError:  # a task is still detaching
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
