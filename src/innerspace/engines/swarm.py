"""The Docker Swarm engine: each job is a one-replica Swarm service that may run on any node.

Nodes share no filesystem with the service. A stage server (engines/staging/server.py) runs
as a Swarm service on this manager node, with the jobs directory mounted, on an internal
overlay network; each job's container joins that network only (plus the inner network when
its app needs inner APIs), fetches its inputs with a per-job token, runs the app, and sends
its results back (engines/staging/job.py). Both scripts reach the nodes as Swarm configs.

Why a replicated service with one replica and restart condition "none" rather than a
`replicated-job` service: Docker 20.10 (Debian 12's) never removes the containers of a
removed replicated-job service, even running ones (moby/moby#42789, #44312), which would
leave traces on every node. Stopping a job scales its service to zero replicas, which keeps
the task and its logs until the service is removed.

Swarm (API 1.41) publishes no task events, so one loop looks at the tasks of all jobs being
waited for in a single call every `poll_interval` seconds; a job's end is seen within that.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, NotFound
from docker.types import (
    ConfigReference,
    ContainerSpec,
    DriverConfig,
    EndpointSpec,
    Mount,
    NetworkAttachmentConfig,
    Placement,
    Resources,
    RestartPolicy,
    ServiceMode,
    TaskTemplate,
)
from requests.exceptions import RequestException
from urllib3.exceptions import ProtocolError

from innerspace.config import Settings
from innerspace.config import Swarm as SwarmSettings
from innerspace.engines import staging
from innerspace.engines.base import (
    CONTAINER_ROOT,
    JOB_LABEL,
    OWNER_LABEL,
    SERVICE_LABEL,
    EngineError,
    ExitStatus,
    Found,
)
from innerspace.engines.base import (
    ContainerSpec as JobSpec,
)
from innerspace.engines.docker import (
    APP_LABEL,
    DockerBackedEngine,
    connect,
    engine_threads,
    explain,
)

log = logging.getLogger(__name__)

ROLE_LABEL = "org.innerspace.role"
SCRIPT_LABEL = "org.innerspace.stage-script"
STAGE_DIR = "/innerspace-stage"  # where the staging scripts appear inside containers
COLLECTION_LABEL = "org.innerspace.collection"  # node label: the node holds a collection
FINAL_STATES = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}
NODE_GONE = {"down", "unknown", "disconnected"}
STAGE_START_TIMEOUT = 60.0


class SwarmEngine(DockerBackedEngine):
    """Runs job containers as Swarm services, on whichever node the scheduler picks."""

    name = "swarm"

    def __init__(self, client: docker.DockerClient, *, service_id: str, jobs_dir: Path,
                 secret: bytes, options: SwarmSettings, uid: int, gid: int,
                 log_size: int = 64 * 1024 * 1024, threads: int = 16) -> None:
        super().__init__(client, threads, "swarm", log_size)
        self._service_id = service_id
        self._jobs_dir = jobs_dir
        self._secret = secret
        self._options = options
        self._uid, self._gid = uid, gid
        # The stage server and its network share one name.
        self.stage_network = self.stage_service = f"innerspace-stage-{service_id[:12]}"
        self._node_id = ""
        self._job_config: ConfigReference | None = None
        self._stopped: set[str] = set()  # handles this engine stopped on purpose
        self._waiters: dict[str, list[asyncio.Future[ExitStatus]]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._followers = ThreadPoolExecutor(max_workers=threads,
                                             thread_name_prefix="swarm-logs")

    @classmethod
    def from_settings(cls, settings: Settings) -> SwarmEngine:
        return cls(connect(settings), service_id=settings.service_id, jobs_dir=settings.jobs_dir,
                   secret=stage_secret(settings.data_dir), options=settings.swarm,
                   uid=settings.sandbox.uid, gid=settings.sandbox.gid,
                   log_size=settings.limits.log_size, threads=engine_threads(settings))

    # -- set-up --------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            info = await self._call(self._api.info)
        except DockerException as exc:
            raise EngineError(f"cannot reach the Docker engine: {exc}") from exc
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise EngineError("the Docker engine is not a Swarm manager; run `docker swarm "
                              "init` (or join it to a swarm as a manager) first")
        self._node_id = swarm["NodeID"]
        try:
            await self._call(self._ensure_network, self.stage_network, internal=True,
                             attachable=False)
            self._job_config = await self._call(self._ensure_config, "job.py")
            await self._call(self._ensure_stage_server)
        except APIError as exc:
            raise EngineError(f"cannot set up staging on the swarm: {explain(exc)}") from exc
        await self._until_stage_server_runs()

    def _ensure_network(self, name: str, *, internal: bool, attachable: bool) -> None:
        if name in self._networks:
            return
        found = [n for n in self._api.networks(names=[name]) if n.get("Name") == name]
        if not found:
            self._api.create_network(name, driver="overlay", internal=internal,
                                     attachable=attachable, scope="swarm",
                                     labels={ROLE_LABEL: "network"})
        elif found[0].get("Scope") != "swarm":
            raise EngineError(f"network {name} exists but is local to one engine; the Swarm "
                              f"engine needs an overlay network of that name")
        self._networks.add(name)

    def _ensure_config(self, script_name: str) -> ConfigReference:
        data = staging.script(script_name)
        digest = hashlib.sha256(data).hexdigest()[:16]
        name = f"innerspace-stage-{script_name.removesuffix('.py')}-{digest}"
        existing = self._api.configs(filters={"name": name})
        match = next((c for c in existing if c["Spec"]["Name"] == name), None)
        config_id = match["ID"] if match else self._api.create_config(
            name, data, labels={ROLE_LABEL: "stage-script"})["ID"]
        return ConfigReference(config_id, name, filename=f"{STAGE_DIR}/{script_name}",
                               uid=str(self._uid), gid=str(self._gid), mode=0o444)

    def _stage_template(self, server: ConfigReference) -> dict[str, Any]:
        image = self._api.inspect_image(self._options.stage_image)["Id"]
        container = ContainerSpec(
            image=image,
            command=["python3", f"{STAGE_DIR}/server.py"],
            env={"INNERSPACE_STAGE_SECRET": self._secret.hex(),
                 "INNERSPACE_STAGE_JOBS": "/jobs",
                 "INNERSPACE_STAGE_PORT": str(staging.STAGE_PORT),
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
            placement=Placement(constraints=[f"node.id=={self._node_id}"]),
            networks=[NetworkAttachmentConfig(self.stage_network)],
            log_driver=DriverConfig("json-file", {"max-size": "10m", "max-file": "1"}),
        )

    def _ensure_stage_server(self) -> None:
        """The stage server on this node; replaced when its script or settings change."""
        server = self._ensure_config("server.py")
        template = self._stage_template(server)
        fingerprint = hashlib.sha256(repr(sorted(_flatten(template))).encode()).hexdigest()
        for service in self._api.services(filters={"name": self.stage_service}):
            if service["Spec"]["Name"] != self.stage_service:
                continue
            if service["Spec"].get("Labels", {}).get(SCRIPT_LABEL) == fingerprint:
                return
            self._api.remove_service(service["ID"])
            self._wait_gone(service["ID"])
        self._jobs_dir.mkdir(parents=True, exist_ok=True)
        self._api.create_service(
            template, name=self.stage_service,
            labels={SERVICE_LABEL: self._service_id, ROLE_LABEL: "stage",
                    SCRIPT_LABEL: fingerprint},
            mode=ServiceMode("replicated", replicas=1),
            endpoint_spec=EndpointSpec(mode="dnsrr"))

    def _wait_gone(self, service_id: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._api.inspect_service(service_id)
            except NotFound:
                return
            time.sleep(0.2)

    async def _until_stage_server_runs(self) -> None:
        deadline = time.monotonic() + STAGE_START_TIMEOUT
        while time.monotonic() < deadline:
            if await self._stage_server_state() == "running":
                return
            await asyncio.sleep(0.2)
        raise EngineError(f"the stage server {self.stage_service} did not start within "
                          f"{STAGE_START_TIMEOUT:g} s; see `docker service ps "
                          f"{self.stage_service}`")

    async def _stage_server_state(self) -> str | None:
        tasks = await self._call(self._api.tasks, filters={"service": self.stage_service,
                                                           "desired-state": "running"})
        states = {t["Status"]["State"] for t in tasks}
        return "running" if "running" in states else (sorted(states) or [None])[0]

    # -- one job ---------------------------------------------------------------------------

    async def ensure_image(self, image: str, progress: Callable[[str], None]) -> None:
        """Nothing to do here: the node the scheduler picks pulls the image itself (or has
        it already, for a local image id)."""

    @staticmethod
    def labels(spec: JobSpec) -> dict[str, str]:
        return {JOB_LABEL: spec.job_id, OWNER_LABEL: spec.owner or "",
                APP_LABEL: f"{spec.app}:{spec.app_version}", SERVICE_LABEL: spec.service_id,
                ROLE_LABEL: "job"}

    def job_template(self, spec: JobSpec) -> dict[str, Any]:
        """The Swarm task of one job: the local engine's sandbox, the manifest's resources
        as reservations and limits, staging instead of bind mounts."""
        if self._job_config is None:
            raise EngineError("the Swarm engine was not opened")
        token = staging.job_token(self._secret, spec.job_id)
        env = {**spec.env,
               "INNERSPACE_STAGE_URL":
                   f"http://{self.stage_service}:{staging.STAGE_PORT}/jobs/{spec.job_id}",
               "INNERSPACE_STAGE_TOKEN": token}
        # /innerspace is a tmpfs, which takes the mode of the image's directory (1777 in
        # images built by innerspace). Not a tmpfs-backed volume: Swarm 20.10 leaves the
        # volumes it creates for a task behind on the node.
        mounts = [
            Mount(CONTAINER_ROOT, None, type="tmpfs", tmpfs_size=self._options.stage_size,
                  tmpfs_mode=0o1777),
            Mount("/tmp", None, type="tmpfs", tmpfs_size=spec.tmp_size, tmpfs_mode=0o777),
        ]
        constraints = list(self._options.constraints)
        for host_path, target in spec.mounts:
            mounts.append(Mount(target, str(host_path), type="bind", read_only=True))
            collection = target.rstrip("/").rsplit("/", 1)[-1]
            constraints.append(f"node.labels.{COLLECTION_LABEL}.{collection}==true")
        container = ContainerSpec(
            image=spec.image,
            command=["python3", f"{STAGE_DIR}/job.py", "--", *spec.argv],
            env=env,
            user=f"{spec.uid}:{spec.gid}",
            labels=self.labels(spec),
            mounts=mounts,
            configs=[self._job_config],
            read_only=True,
            cap_drop=["ALL"],
            stop_grace_period=int(self._options.stop_grace * 1e9),
        )
        # Engines from API 1.46 on honour this; older ones need `dockerd --no-new-privileges`
        # on every node (docs/operations.md), which the docker SDK cannot set per service.
        container["Privileges"] = {"NoNewPrivileges": True}
        nano_cpus = int(spec.cores * 1e9)
        resources = Resources(cpu_limit=nano_cpus, mem_limit=spec.memory,
                              cpu_reservation=nano_cpus, mem_reservation=spec.memory)
        resources["Limits"]["Pids"] = spec.pids
        networks = [NetworkAttachmentConfig(self.stage_network)]
        if spec.network:
            networks.append(NetworkAttachmentConfig(spec.network))
        return TaskTemplate(
            container_spec=container,
            resources=resources,
            restart_policy=RestartPolicy(condition="none"),
            placement=Placement(constraints=constraints),
            networks=networks,
            log_driver=DriverConfig("json-file", {"max-size": str(self._log_size),
                                                  "max-file": "1"}),
        )

    async def start(self, spec: JobSpec) -> str:
        try:
            if spec.network:
                await self._call(self._ensure_network, spec.network, internal=True,
                                 attachable=True)
            created = await self._call(
                self._api.create_service, self.job_template(spec),
                name=f"innerspace-job-{spec.job_id}", labels=self.labels(spec),
                mode=ServiceMode("replicated", replicas=1),
                endpoint_spec=EndpointSpec(mode="dnsrr"))
        except APIError as exc:
            raise EngineError(f"the swarm refused the job: {explain(exc)}") from exc
        except DockerException as exc:
            raise EngineError(f"cannot reach the Docker engine: {exc}") from exc
        return str(created["ID"])

    # -- waiting -----------------------------------------------------------------------------

    async def wait(self, handle: str) -> ExitStatus:
        future: asyncio.Future[ExitStatus] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(handle, []).append(future)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="swarm-poller")
        self._wake.set()
        try:
            return await future
        finally:
            waiting = self._waiters.get(handle, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(handle, None)

    async def _poll(self) -> None:
        """Look at every waited-for job's task in one call, until nobody waits."""
        silent_since: float | None = None
        while self._waiters and not self._closed.is_set():
            try:
                verdicts = await self._call(self._judge_all, list(self._waiters))
                silent_since = None
            except (APIError, EngineError, DockerException) as exc:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since < 60:
                    log.warning("swarm: cannot look at the jobs' tasks: %s", exc)
                    verdicts = {}
                else:
                    verdicts = {h: ExitStatus(-1, error=f"lost contact with the swarm: {exc}")
                                for h in self._waiters}
            for handle, status in verdicts.items():
                for future in self._waiters.get(handle, []):
                    if not future.done():
                        future.set_result(status)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._options.poll_interval)

    def _judge_all(self, handles: list[str]) -> dict[str, ExitStatus]:
        services = {s["ID"] for s in self._api.services(
            filters={"label": f"{SERVICE_LABEL}={self._service_id}"})}
        verdicts: dict[str, ExitStatus] = {}
        alive = [h for h in handles if h in services]
        for handle in handles:
            if handle not in services:
                verdicts[handle] = ExitStatus(-1, error="the job's swarm service disappeared")
        if not alive:
            return verdicts
        tasks: dict[str, list[dict[str, Any]]] = {}
        for task in self._api.tasks(filters={"service": alive}):
            tasks.setdefault(task["ServiceID"], []).append(task)
        nodes: dict[str, dict[str, Any]] | None = None
        for handle in alive:
            if not tasks.get(handle):
                if handle in self._stopped:  # stopped before a task was placed: none left
                    verdicts[handle] = ExitStatus(137, error="stopped")
                continue
            task = max(tasks[handle], key=lambda t: t["Version"]["Index"])
            state = task["Status"]["State"]
            if state not in FINAL_STATES and task.get("NodeID") and state in (
                    "assigned", "accepted", "preparing", "starting", "running"):
                if nodes is None:
                    nodes = {n["ID"]: n for n in self._api.nodes()}
                node = nodes.get(task["NodeID"])
                if node is not None and node["Status"]["State"] in NODE_GONE:
                    verdicts[handle] = ExitStatus(
                        -1, error=f"node {_node_name(node)} stopped answering while the job "
                                  f"ran")
                continue
            if state in FINAL_STATES:
                if nodes is None:
                    nodes = {n["ID"]: n for n in self._api.nodes()}
                verdicts[handle] = self._exit_status(handle, task, nodes)
        return verdicts

    def _exit_status(self, handle: str, task: dict[str, Any],
                     nodes: dict[str, dict[str, Any]]) -> ExitStatus:
        status = task["Status"]
        state = status["State"]
        code = (status.get("ContainerStatus") or {}).get("ExitCode")
        error = status.get("Err") or None
        if state == "complete":
            return ExitStatus(int(code or 0))
        if state == "failed" and code not in (None, 0) and "non-zero exit" in (error or ""):
            return ExitStatus(int(code))  # the app's own failure: its stderr says why
        if handle in self._stopped:
            return ExitStatus(int(code) if code else 137, error="stopped")
        node = nodes.get(task.get("NodeID", ""))
        if state == "shutdown" and node is not None:
            if node["Spec"].get("Availability") == "drain":
                return ExitStatus(-1, error=f"node {_node_name(node)} was drained while the "
                                            f"job ran, so the swarm stopped it")
            return ExitStatus(-1, error=f"the swarm stopped the job on node "
                                        f"{_node_name(node)}")
        if state == "rejected":
            return ExitStatus(-1, error=f"the swarm could not run the job: {error}")
        return ExitStatus(int(code) if code else -1,
                          error=f"the job's task ended in state {state}"
                                + (f": {error}" if error else ""))

    # -- output, stop, clean-up ----------------------------------------------------------------

    async def follow_output(self, handle: str, on_line: Callable[[str], None]) -> None:
        loop = asyncio.get_running_loop()
        response_box: list[Any] = []

        def follow() -> None:
            url = self._api._url("/services/{0}/logs", handle)
            response = self._api._get(url, params={"follow": 1, "stdout": 1, "stderr": 0,
                                                   "tail": "all"}, stream=True)
            response_box.append(response)
            self._api._raise_for_status(response)
            pending = b""
            try:
                for chunk in self._api._multiplexed_response_stream_helper(response):
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        loop.call_soon_threadsafe(on_line, line.decode("utf-8", "replace"))
                    if self._closed.is_set():
                        return
            except (ProtocolError, OSError):
                return  # the stream was shut down: the job has ended

        try:
            # Followers have threads of their own: a stream that outlives its job must
            # never hold up the calls that start, watch and stop jobs.
            await asyncio.get_running_loop().run_in_executor(self._followers, follow)
        except asyncio.CancelledError:
            # A Swarm log stream does not end with the task. Shut its socket down, which
            # wakes the reading thread (closing the response would wait for that thread).
            for response in response_box:
                _shut_down(response)
            raise
        except (NotFound, APIError, EngineError, RequestException, OSError):
            return

    async def stop(self, handle: str) -> None:
        """Scale the job's service to zero: the task is shut down (SIGTERM, then SIGKILL
        after stop_grace) but kept, with its logs, until the service is removed."""
        self._stopped.add(handle)
        try:
            spec = await self._call(self._api.inspect_service, handle)
            await self._call(self._api.update_service, handle, spec["Version"]["Index"],
                             task_template=spec["Spec"]["TaskTemplate"],
                             name=spec["Spec"]["Name"], labels=spec["Spec"].get("Labels"),
                             mode=ServiceMode("replicated", replicas=0),
                             endpoint_spec=EndpointSpec(mode="dnsrr"))
        except NotFound:
            return
        except APIError as exc:
            raise EngineError(f"could not stop the job: {explain(exc)}") from exc
        self._wake.set()

    async def collect_logs(self, handle: str, stdout: Path, stderr: Path) -> None:
        await self._call(self._write_logs, handle, stdout, stderr)

    def _write_logs(self, handle: str, stdout: Path, stderr: Path) -> None:
        for path, out, err in ((stdout, True, False), (stderr, False, True)):
            try:
                chunks = self._api.service_logs(handle, stdout=out, stderr=err,
                                                follow=False, is_tty=False)
                with path.open("wb") as stream:
                    for chunk in chunks:
                        stream.write(chunk)
            except (NotFound, APIError):
                path.touch()

    async def remove(self, handle: str) -> None:
        """Remove the job's service; Swarm then removes its container on the node (when the
        node answers again, if it was away)."""
        self._stopped.discard(handle)
        with contextlib.suppress(NotFound):
            try:
                await self._call(self._api.remove_service, handle)
            except APIError as exc:
                raise EngineError(f"could not remove the job's service: {explain(exc)}"
                                  ) from exc

    async def find_jobs(self, service_id: str) -> list[Found]:
        services = await self._call(self._api.services,
                                    filters={"label": f"{SERVICE_LABEL}={service_id}"})
        jobs = [s for s in services if JOB_LABEL in (s["Spec"].get("Labels") or {})]
        if not jobs:
            return []
        tasks = await self._call(self._api.tasks, filters={"service": [s["ID"] for s in jobs]})
        running = {t["ServiceID"] for t in tasks if t["Status"]["State"] not in FINAL_STATES}
        return [Found(job_id=s["Spec"]["Labels"][JOB_LABEL], handle=s["ID"],
                      running=s["ID"] in running) for s in jobs]

    async def check(self) -> str | None:
        try:
            info = await self._call(self._api.info)
            if not (info.get("Swarm") or {}).get("ControlAvailable"):
                return "the Docker engine is no longer a Swarm manager"
            state = await self._stage_server_state()
        except (DockerException, EngineError, OSError) as exc:
            return f"the Docker engine does not answer: {exc}"
        if state != "running":
            return f"the stage server {self.stage_service} is not running ({state})"
        return None

    async def close(self) -> None:
        self._closed.set()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
        self._followers.shutdown(wait=False, cancel_futures=True)
        await super().close()


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
    deadline = time.monotonic() + 30
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


def _shut_down(response: Any) -> None:
    """Shut the socket under a streaming response down, from any thread."""
    with contextlib.suppress(AttributeError, OSError):
        stream = response.raw._fp.fp.raw  # a socket.SocketIO over the engine's socket
        getattr(stream, "_sock", stream).shutdown(socket.SHUT_RDWR)


def _node_name(node: dict[str, Any]) -> str:
    address = (node.get("Status") or {}).get("Addr", "")
    name = (node.get("Description") or {}).get("Hostname", node["ID"][:12])
    return f"{name} ({node['ID'][:12]}, {address})" if address else name


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [item for key, inner in value.items()
                for item in _flatten(inner, f"{prefix}/{key}")]
    if isinstance(value, list):
        return [item for index, inner in enumerate(value)
                for item in _flatten(inner, f"{prefix}/{index}")]
    return [(prefix, repr(value))]
