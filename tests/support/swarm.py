"""A real two-node Docker Swarm on this machine: the host engine as manager plus a second
engine in a network namespace (scripts/swarm-node.sh) as worker."""

from __future__ import annotations

import subprocess
from typing import Any

from tests.support.paths import SCRIPTS

SWARM_APPS = ("hello", "fits-stats", "xmatch", "probe")  # the apps tests run on the swarm
WORKER_SOCKET = "unix:///run/innerspace/isnode2/docker.sock"


class SwarmCluster:
    """The manager and worker engines. Images built here are copied to the worker."""

    def __init__(self, manager: Any, worker: Any) -> None:
        self.manager = manager
        self.worker = worker
        self.manager_node = manager.info()["Swarm"]["NodeID"]
        self.worker_node = worker.info()["Swarm"]["NodeID"]
        self._copied: set[str] = set()

    @staticmethod
    def node_script(*args: str) -> None:
        subprocess.run(["bash", str(SCRIPTS / "swarm-node.sh"), *args], check=True,
                       capture_output=True, text=True, timeout=180)

    def label_manager(self) -> None:
        """Label the manager node, so that placement constraints can name it."""
        node = self.manager.api.inspect_node(self.manager_node)
        spec = node["Spec"]
        spec.setdefault("Labels", {})["org.innerspace.node"] = "manager"
        self.manager.api.update_node(self.manager_node, version=node["Version"]["Index"],
                                     node_spec=spec)

    def copy_image(self, image_id: str) -> None:
        """A local image onto the worker (no registry: the image id stays the same)."""
        if image_id in self._copied:
            return
        data = self.manager.images.get(image_id).save(named=True)
        self.worker.images.load(b"".join(data))
        self._copied.add(image_id)

    def node_of(self, job_id: str) -> str | None:
        """The node a job's task was placed on (while its service exists)."""
        tasks = self.manager.api.tasks(filters={"label": f"org.innerspace.job={job_id}"})
        if not tasks:
            services = self.manager.api.services(filters={"name": f"innerspace-job-{job_id}"})
            if not services:
                return None
            tasks = self.manager.api.tasks(filters={"service": services[0]["ID"]})
        placed = [t.get("NodeID") for t in tasks if t.get("NodeID")]
        return placed[-1] if placed else None

    def worker_containers(self, job_id: str) -> list[dict[str, Any]]:
        # The low-level list: the high-level one inspects each container and fails on one
        # that goes away meanwhile.
        return list(self.worker.api.containers(
            all=True, filters={"label": f"org.innerspace.job={job_id}"}))

    def sync_app_images(self) -> None:
        """Copy the app images the manager's tags now point to (other test modules rebuild
        them, which gives new image ids) onto the worker."""
        for name in SWARM_APPS:
            try:
                image = self.manager.images.get(f"innerspace-app/{name}:1.0.0")
            except Exception:  # not built in this session
                continue
            if image.id in self._copied:
                continue
            try:
                self.worker.images.get(image.id)
                self._copied.add(image.id)
            except Exception:  # not there yet
                self.copy_image(image.id)

    def settings(self, **swarm: Any) -> dict[str, Any]:
        """Settings of a service on this swarm; the current app images go to the worker."""
        self.sync_app_images()
        return {"engine": "swarm", "swarm": {"poll_interval": 0.1, "stop_grace": 1, **swarm}}
