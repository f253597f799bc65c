"""Staging on a swarm, the manager's side: the stage server (a Swarm service on this node,
with the jobs directory mounted, on an internal overlay network of its own), the Swarm
configs that carry the stdlib staging scripts (engines/staging/) to the nodes, and the
secret behind each job's staging token."""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

import docker
from docker.errors import NotFound
from docker.types import (
    ConfigReference,
    ContainerSpec,
    DriverConfig,
    EndpointSpec,
    Mount,
    NetworkAttachmentConfig,
    Placement,
    RestartPolicy,
    ServiceMode,
    TaskTemplate,
)

from innerspace.config import Swarm as SwarmSettings
from innerspace.engines.base import SERVICE_LABEL
from innerspace.engines.staging import STAGE_PORT, job_token, script
from innerspace.engines.swarm.objects import ROLE_LABEL, stage_name

STAGE_DIR = "/innerspace-stage"  # where the staging scripts appear inside containers
SCRIPT_LABEL = "org.innerspace.stage-script"  # the stage server's fingerprint
SERVICE_GONE_TIMEOUT = 30.0  # seconds to wait for a replaced stage server to go


def stage_secret(data_dir: Path) -> bytes:
    """The secret behind the per-job staging tokens, kept in the data directory so that
    jobs re-attached after a restart keep working."""
    path = data_dir / "stage-secret"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32) + "\n")
        return bytes.fromhex(path.read_text().strip())


class StageServer:
    """The stage server of one innerspace service. Its Swarm service and its overlay
    network share one name; the calls here block (run them on the engine's pool)."""

    def __init__(self, api: docker.APIClient, *, service_id: str, jobs_dir: Path,
                 secret: bytes, options: SwarmSettings, uid: int, gid: int) -> None:
        self._api = api
        self._service_id = service_id
        self._jobs_dir = jobs_dir
        self._secret = secret
        self._options = options
        self._uid, self._gid = uid, gid
        self.name = stage_name(service_id)

    def job_env(self, job_id: str) -> dict[str, str]:
        """What the staging wrapper in a job's container needs: where its files are, and
        the token that opens them (and nothing else)."""
        return {"INNERSPACE_STAGE_URL": f"http://{self.name}:{STAGE_PORT}/jobs/{job_id}",
                "INNERSPACE_STAGE_TOKEN": job_token(self._secret, job_id)}

    def script_config(self, script_name: str) -> ConfigReference:
        """The Swarm config holding one staging script (created once per version of the
        script), as containers see it under STAGE_DIR."""
        data = script(script_name)
        digest = hashlib.sha256(data).hexdigest()[:16]
        name = f"innerspace-stage-{script_name.removesuffix('.py')}-{digest}"
        existing = self._api.configs(filters={"name": name})
        match = next((c for c in existing if c["Spec"]["Name"] == name), None)
        config_id = match["ID"] if match else self._api.create_config(
            name, data, labels={ROLE_LABEL: "stage-script"})["ID"]
        return ConfigReference(config_id, name, filename=f"{STAGE_DIR}/{script_name}",
                               uid=str(self._uid), gid=str(self._gid), mode=0o444)

    def _template(self, server: ConfigReference, node_id: str) -> TaskTemplate:
        image = self._api.inspect_image(self._options.stage_image)["Id"]
        container = ContainerSpec(
            image=image,
            command=["python3", f"{STAGE_DIR}/server.py"],
            env={"INNERSPACE_STAGE_SECRET": self._secret.hex(),
                 "INNERSPACE_STAGE_JOBS": "/jobs",
                 "INNERSPACE_STAGE_PORT": str(STAGE_PORT),
                 "INNERSPACE_STAGE_MAX_BYTES": str(self._options.stage_size)},
            user=f"{self._uid}:{self._gid}",
            mounts=[Mount("/jobs", str(self._jobs_dir), type="bind")],
            configs=[server],
            read_only=True,
            cap_drop=["ALL"],
            labels={SERVICE_LABEL: self._service_id, ROLE_LABEL: "stage"},
        )
        return TaskTemplate(
            container_spec=container,
            restart_policy=RestartPolicy(condition="any", delay=1_000_000_000),
            placement=Placement(constraints=[f"node.id=={node_id}"]),
            networks=[NetworkAttachmentConfig(self.name)],
            log_driver=DriverConfig("json-file", {"max-size": "10m", "max-file": "1"}),
        )

    def ensure(self, node_id: str) -> None:
        """The stage server on node `node_id` (this manager); replaced when its script or
        settings change. Its network must exist already."""
        template = self._template(self.script_config("server.py"), node_id)
        fingerprint = hashlib.sha256(repr(sorted(_flatten(template))).encode()).hexdigest()
        for service in self._api.services(filters={"name": self.name}):
            if service["Spec"]["Name"] != self.name:
                continue
            if service["Spec"].get("Labels", {}).get(SCRIPT_LABEL) == fingerprint:
                return
            self._api.remove_service(service["ID"])
            self._wait_gone(service["ID"])
        self._jobs_dir.mkdir(parents=True, exist_ok=True)
        self._api.create_service(
            template, name=self.name,
            labels={SERVICE_LABEL: self._service_id, ROLE_LABEL: "stage",
                    SCRIPT_LABEL: fingerprint},
            mode=ServiceMode("replicated", replicas=1),
            endpoint_spec=EndpointSpec(mode="dnsrr"))

    def _wait_gone(self, service_id: str) -> None:
        deadline = time.monotonic() + SERVICE_GONE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                self._api.inspect_service(service_id)
            except NotFound:
                return
            time.sleep(0.2)

    def state(self) -> str | None:
        """The stage server's state: "running" when one of its tasks runs, else the state
        of one of its tasks (None: it has none)."""
        tasks = self._api.tasks(filters={"service": self.name, "desired-state": "running"})
        states = {t["Status"]["State"] for t in tasks}
        return "running" if "running" in states else (sorted(states) or [None])[0]


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A nested structure as sorted-able (path, value) pairs: the fingerprint's input."""
    if isinstance(value, dict):
        return [item for key, inner in value.items()
                for item in _flatten(inner, f"{prefix}/{key}")]
    if isinstance(value, list):
        return [item for key, inner in enumerate(value)
                for item in _flatten(inner, f"{prefix}/{key}")]
    return [(prefix, repr(value))]
