"""Taking down what innerspace made on a swarm: one service's objects when it stops
(engine.py), what a crashed service left (`innerspace swarm clean`), or everything (a test
swarm's teardown).

Which services are running: a running service holds an exclusive lock (flock) on a file in
its data directory, `swarm.lock`, and labels its stage server with that file's path. The
lock is the kernel's, so it goes with the process however the process ends (SIGKILL
included); `innerspace swarm clean` on the service's (manager) node takes the lock of each
stage server it finds, and cleans only the services whose lock it gets, holding it while it
cleans so that the service cannot start meanwhile.

A stopped service's job services still on the swarm (jobs that were running when it
stopped) are kept, with everything they need (its stage server, their networks): the
service picks them up when it starts again. `innerspace swarm clean --jobs` removes them too.

The calls here block.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, NotFound

from innerspace.engines.base import JOB_LABEL, SERVICE_LABEL, EngineError
from innerspace.engines.swarm.objects import ROLE_LABEL

log = logging.getLogger(__name__)

LOCK_LABEL = "org.innerspace.lock"  # on the stage server: its service's lock file
LOCK_TIMEOUT = 15.0  # seconds a starting service waits for a `swarm clean` holding its lock
IN_USE_TIMEOUT = 30.0  # seconds for the tasks of removed services to let go


class ServiceLock:
    """The lock a running service holds on its `swarm.lock` file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_take(self) -> bool:
        """Take the lock if no process holds it (True); False when one does."""
        import fcntl  # innerspace serves on Linux; the client side never gets here

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise
        self._fd = fd
        return True

    def take(self, timeout: float = LOCK_TIMEOUT) -> None:
        """Take the lock, waiting up to `timeout` for a `swarm clean` that holds it; an
        EngineError when another service (on the same data directory) holds it."""
        deadline = time.monotonic() + timeout
        while not self.try_take():
            if time.monotonic() > deadline:
                raise EngineError(f"another innerspace service holds {self.path}: two "
                                  f"services cannot share one data directory on a swarm")
            time.sleep(0.2)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None

    @staticmethod
    def is_free(path: Path) -> bool:
        """Whether no process holds the lock at `path` now (a missing file: none does)."""
        if not path.exists():
            return True
        lock = ServiceLock(path)
        if lock.try_take():
            lock.release()
            return True
        return False

    @contextlib.contextmanager
    def held_if_free(self) -> Iterator[bool]:
        """Hold the lock for the block when no process holds it (True), else do nothing
        (False). A missing file (its data directory is gone) counts as free and is not
        created."""
        if not self.path.parent.exists():
            yield True
            return
        if not self.try_take():
            yield False
            return
        try:
            yield True
        finally:
            self.release()


def service_objects(api: docker.APIClient, service_id: str) -> dict[str, list[dict[str, Any]]]:
    """What one service has on the swarm and this engine: its job services, stage server
    container(s), networks (its stage server's own, its jobs') and configs."""
    selector = f"{SERVICE_LABEL}={service_id}"
    services = api.services(filters={"label": selector})
    return {
        "jobs": [s for s in services if JOB_LABEL in (s["Spec"].get("Labels") or {})],
        "services": [s for s in services if JOB_LABEL not in (s["Spec"].get("Labels") or {})],
        "containers": api.containers(all=True, filters={"label": [selector,
                                                                  f"{ROLE_LABEL}=stage"]}),
        "networks": [n for n in api.networks(filters={"label": selector})
                     if (n.get("Labels") or {}).get(ROLE_LABEL) in ("network", "job-network")],
        "configs": api.configs(filters={"label": selector}),
    }


def remove_networks(api: docker.APIClient, networks: list[dict[str, Any]]) -> list[str]:
    """Remove networks, each once the tasks on it have detached (they do after their
    service is removed); the names of those removed."""
    return _remove_when_free(api.remove_network, [(n["Id"], n["Name"]) for n in networks],
                             "network")


def remove_configs(api: docker.APIClient, configs: list[dict[str, Any]]) -> list[str]:
    """Remove configs, each once no task uses it any more; the names of those removed."""
    return _remove_when_free(api.remove_config,
                             [(c["ID"], c["Spec"]["Name"]) for c in configs], "config")


def _remove_when_free(remove: Callable[[str], Any], objects: list[tuple[str, str]],
                      kind: str) -> list[str]:
    """Remove each (id, name), retrying while the engine refuses (tasks of removed services
    still detaching) for up to IN_USE_TIMEOUT in all; what is still in use then is left and
    logged. The words for those removed."""
    deadline = time.monotonic() + IN_USE_TIMEOUT
    removed: list[str] = []
    for object_id, name in objects:
        while True:
            try:
                remove(object_id)
                removed.append(f"{kind} {name}")
                break
            except NotFound:
                break
            except APIError:  # still in use
                if time.monotonic() > deadline:
                    log.warning("%s %s is still in use", kind, name)
                    break
                time.sleep(0.5)
    return removed


def remove_service_objects(api: docker.APIClient, service_id: str, *,
                           jobs: bool = False) -> list[str]:
    """Remove one service's objects (its job services too when `jobs`; else an EngineError
    if it has any); the names of what was removed."""
    found = service_objects(api, service_id)
    if found["jobs"] and not jobs:
        raise EngineError(f"{len(found['jobs'])} job service(s) of {service_id} remain")
    removed: list[str] = []
    for service in found["jobs"] + found["services"]:
        with contextlib.suppress(NotFound):
            api.remove_service(service["ID"])
            removed.append(f"service {service['Spec']['Name']}")
    for container in found["containers"]:
        with contextlib.suppress(NotFound):
            api.remove_container(container["Id"], force=True)
            removed.append(f"container {container['Names'][0].lstrip('/')}")
    removed += remove_networks(api, found["networks"])
    return removed + remove_configs(api, found["configs"])


@dataclass
class CleanReport:
    """What `clean_swarm` did and did not do, in words for the operator."""

    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _jobs_dir_of(container: dict[str, Any]) -> Path | None:
    """The jobs directory a stage server has mounted."""
    for mount in container.get("Mounts") or []:
        if mount.get("Destination") == "/jobs":
            return Path(str(mount.get("Source")))
    return None


def clean_swarm(client: docker.DockerClient, *, jobs: bool = False) -> CleanReport:
    """Remove what the innerspace services of this (manager) node left on the swarm when
    they stopped or crashed: for each stage server here whose service is not running, the
    service's stage server, networks and configs (and its job services when `jobs`; a
    service with job services left is otherwise kept whole). Running services are left
    alone; so are services whose stage server is on another node."""
    api = client.api
    report = CleanReport()
    stages = api.containers(all=True, filters={"label": f"{ROLE_LABEL}=stage"})
    for container in stages:
        service_id = (container.get("Labels") or {}).get(SERVICE_LABEL, "")
        name = container["Names"][0].lstrip("/")
        if not service_id:
            continue
        lock = (container.get("Labels") or {}).get(LOCK_LABEL)
        if lock is None:  # made before services held a lock: only a gone jobs directory
            jobs_dir = _jobs_dir_of(container)  # says that its service cannot be running
            if jobs_dir is None or jobs_dir.exists():
                report.kept.append(f"{name}: made by an older innerspace whose jobs "
                                   f"directory {jobs_dir} still exists; stop that service, "
                                   f"then `innerspace swarm clean --all`")
                continue
            lock = str(jobs_dir / "swarm.lock")  # in a gone directory: free
        with ServiceLock(Path(lock)).held_if_free() as free:
            if not free:
                continue  # its service is running
            left = service_objects(api, service_id)["jobs"]
            if left and not jobs:
                report.kept.append(f"{name}: {len(left)} job(s) of its stopped service still "
                                   f"on the swarm; the service picks them up when it starts "
                                   f"again (--jobs removes them too)")
                continue
            report.removed += remove_service_objects(api, service_id, jobs=jobs)
    if not any("older innerspace" in line for line in report.kept):
        # Such a service's next job would need the shared config that older versions made.
        report.removed += remove_unused_scripts(api)
    return report


def remove_unused_scripts(api: docker.APIClient) -> list[str]:
    """The job wrapper's configs of earlier innerspace versions (one shared by all services,
    not labelled with a service), when no job uses them any more."""
    removed: list[str] = []
    for config in api.configs(filters={"label": f"{ROLE_LABEL}=stage-script"}):
        if SERVICE_LABEL in (config["Spec"].get("Labels") or {}):
            continue
        with contextlib.suppress(NotFound, APIError):  # APIError: still in use
            api.remove_config(config["ID"])
            removed.append(f"config {config['Spec']['Name']}")
    return removed


def remove_swarm_objects(client: docker.DockerClient, service_id: str | None = None
                         ) -> list[str]:
    """Remove what innerspace made on a swarm (job services, stage servers, the jobs' and
    the stage servers' networks, the job wrapper's configs), of one service or of all,
    running or not: for taking an installation or a test swarm down. The names of what was
    removed."""
    api = client.api
    if service_id:
        return remove_service_objects(api, service_id, jobs=True)
    removed: list[str] = []
    for service in api.services(filters={"label": ROLE_LABEL}):
        with contextlib.suppress(NotFound):
            api.remove_service(service["ID"])
            removed.append(f"service {service['Spec']['Name']}")
    for container in api.containers(all=True, filters={"label": f"{ROLE_LABEL}=stage"}):
        with contextlib.suppress(NotFound):
            api.remove_container(container["Id"], force=True)
            removed.append(f"container {container['Names'][0].lstrip('/')}")
    networks = [n for n in api.networks(filters={"label": ROLE_LABEL})
                if (n.get("Labels") or {}).get(ROLE_LABEL) in ("network", "job-network")]
    removed += remove_networks(api, networks)
    return removed + remove_configs(
        api, api.configs(filters={"label": f"{ROLE_LABEL}=stage-script"}))
