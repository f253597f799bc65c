"""The Swarm engine: each job is a one-replica Swarm service that may run on any node.

Why a replicated service with one replica and restart condition "none" rather than a
`replicated-job` service: Docker 20.10 (Debian 12's) never removes the containers of a
removed replicated-job service, even running ones (moby/moby#42789, #44312), which would
leave traces on every node. Stopping a job scales its service to zero replicas, which keeps
the task and its logs until the service is removed.

Nodes share no filesystem with the service: a job's files travel through the stage server
(staging.py); the end of its task is seen by the task poller (tasks.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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

from innerspace.config import Settings
from innerspace.config import Swarm as SwarmSettings
from innerspace.engines.base import (
    CONTAINER_ROOT,
    JOB_LABEL,
    SERVICE_LABEL,
    EngineError,
    ExitStatus,
    Found,
    job_labels,
)
from innerspace.engines.base import ContainerSpec as JobSpec
from innerspace.engines.docker_base import DockerBackedEngine, connect, engine_threads, explain
from innerspace.engines.docker_streams import ServiceLogFollower
from innerspace.engines.swarm.objects import (
    ROLE_LABEL,
    ensure_overlay_network,
    job_service_name,
)
from innerspace.engines.swarm.staging import STAGE_DIR, StageServer, stage_secret
from innerspace.engines.swarm.tasks import FINAL_STATES, TaskJudge, TaskPoller, Verdicts

COLLECTION_LABEL = "org.innerspace.collection"  # node label: the node holds a collection
STAGE_START_TIMEOUT = 60.0  # seconds the stage server may take to run


class SwarmEngine(DockerBackedEngine):
    """Runs job containers as Swarm services, on whichever node the scheduler picks."""

    name = "swarm"

    def __init__(self, client: docker.DockerClient, *, service_id: str, jobs_dir: Path,
                 secret: bytes, options: SwarmSettings, uid: int, gid: int,
                 log_size: int = 64 * 1024 * 1024, threads: int = 16) -> None:
        super().__init__(client, threads, "swarm", log_size)
        self._options = options
        self._stage = StageServer(self._api, service_id=service_id, jobs_dir=jobs_dir,
                                  secret=secret, options=options, uid=uid, gid=gid)
        self._node_id = ""
        self._job_config: ConfigReference | None = None  # job.py, once opened
        self._judge = TaskJudge(self._api, service_id)
        self._tasks = TaskPoller(self._look_at_tasks, options.poll_interval, self._closed)
        # Followers have threads of their own: a stream that outlives its job must never
        # hold up the calls that start, watch and stop jobs.
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
            await self._call(self._ensure_network, self._stage.name, internal=True,
                             attachable=False)
            self._job_config = await self._call(self._stage.script_config, "job.py")
            await self._call(self._stage.ensure, self._node_id)
        except APIError as exc:
            raise EngineError(f"cannot set up staging on the swarm: {explain(exc)}") from exc
        await self._until_stage_server_runs()

    def _ensure_network(self, name: str, *, internal: bool, attachable: bool) -> None:
        if name in self._networks:
            return
        ensure_overlay_network(self._api, name, internal=internal, attachable=attachable)
        self._networks.add(name)

    async def _until_stage_server_runs(self) -> None:
        deadline = time.monotonic() + STAGE_START_TIMEOUT
        while time.monotonic() < deadline:
            if await self._call(self._stage.state) == "running":
                return
            await asyncio.sleep(0.2)
        raise EngineError(f"the stage server {self._stage.name} did not start within "
                          f"{STAGE_START_TIMEOUT:g} s; see `docker service ps "
                          f"{self._stage.name}`")

    # -- one job ---------------------------------------------------------------------------

    async def ensure_image(self, image: str, progress: Callable[[str], None]) -> None:
        """Nothing to do here: the node the scheduler picks pulls the image itself (or has
        it already, for a local image id)."""

    @staticmethod
    def _labels(spec: JobSpec) -> dict[str, str]:
        return {**job_labels(spec), ROLE_LABEL: "job"}

    def job_template(self, spec: JobSpec) -> TaskTemplate:
        """The Swarm task of one job: the local engine's sandbox, the manifest's resources
        as reservations and limits, staging instead of bind mounts."""
        if self._job_config is None:
            raise EngineError("the Swarm engine was not opened")
        env: dict[str, str | bytes | None] = {**spec.env, **self._stage.job_env(spec.job_id)}
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
            labels=self._labels(spec),
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
        networks = [NetworkAttachmentConfig(self._stage.name)]
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
                name=job_service_name(spec.job_id), labels=self._labels(spec),
                mode=ServiceMode("replicated", replicas=1),
                endpoint_spec=EndpointSpec(mode="dnsrr"))
        except APIError as exc:
            raise EngineError(f"the swarm refused the job: {explain(exc)}") from exc
        except DockerException as exc:
            raise EngineError(f"cannot reach the Docker engine: {exc}") from exc
        return str(created["ID"])

    async def wait(self, handle: str) -> ExitStatus:
        return await self._tasks.wait(handle)

    async def _look_at_tasks(self, handles: list[str]) -> Verdicts:
        return await self._call(self._judge.judge_all, handles)

    # -- output, stop, clean-up ----------------------------------------------------------------

    async def follow_output(self, handle: str, on_line: Callable[[str], None]) -> None:
        loop = asyncio.get_running_loop()
        follower = ServiceLogFollower(self._api, handle)
        try:
            await loop.run_in_executor(self._followers, self._forward_lines,
                                       follower.chunks(), on_line, loop)
        except asyncio.CancelledError:
            # A Swarm log stream does not end with the task: shut it, which wakes the
            # reading thread.
            follower.shut()
            raise
        except (NotFound, APIError, EngineError, RequestException, OSError):
            return

    async def stop(self, handle: str) -> None:
        """Scale the job's service to zero: the task is shut down (SIGTERM, then SIGKILL
        after stop_grace) but kept, with its logs, until the service is removed."""
        self._judge.stopped.add(handle)
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
        self._tasks.wake()

    def _log_chunks(self, handle: str, stdout: bool) -> Iterable[bytes] | None:
        try:
            chunks: Iterable[bytes] = self._api.service_logs(
                handle, stdout=stdout, stderr=not stdout, follow=False, is_tty=False)
        except APIError:  # NotFound too: the service, or its node, cannot give them
            return None
        return chunks

    async def remove(self, handle: str) -> None:
        """Remove the job's service; Swarm then removes its container on the node (when the
        node answers again, if it was away)."""
        self._judge.stopped.discard(handle)
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
            state = await self._call(self._stage.state)
        except (DockerException, EngineError, OSError) as exc:
            return f"the Docker engine does not answer: {exc}"
        if state != "running":
            return f"the stage server {self._stage.name} is not running ({state})"
        return None

    async def close(self) -> None:
        self._closed.set()
        await self._tasks.close()
        self._followers.shutdown(wait=False, cancel_futures=True)
        await super().close()
