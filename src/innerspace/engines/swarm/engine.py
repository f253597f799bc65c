"""The Swarm engine: each job is a one-replica Swarm service that may run on any node.

Why a replicated service with one replica and restart condition "none" rather than a
`replicated-job` service: Docker 20.10 (Debian 12's) never removes the containers of a
removed replicated-job service, even running ones (moby/moby#42789, #44312), which would
leave traces on every node. Stopping a job scales its service to zero replicas, which keeps
the task and its logs until the service is removed.

Nodes share no filesystem with the service: a job's files travel through the stage server
(staging.py), over a network of the job's own, with a token that dies with the job; the end
of its task is seen by the task poller (tasks.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from innerspace.engines.swarm.cleanup import ServiceLock
from innerspace.engines.swarm.objects import (
    ROLE_LABEL,
    ensure_overlay_network,
    job_service_name,
)
from innerspace.engines.swarm.staging import STAGE_DIR, StageServer
from innerspace.engines.swarm.tasks import FINAL_STATES, TaskJudge, TaskPoller, Verdicts

COLLECTION_LABEL = "org.innerspace.collection"  # node label: the node holds a collection
STAGE_START_TIMEOUT = 60.0  # seconds the stage server may take to run
STAGE_SLACK = 1024 * 1024  # bytes of /innerspace beyond inputs and results (directories)

log = logging.getLogger(__name__)


class SwarmEngine(DockerBackedEngine):
    """Runs job containers as Swarm services, on whichever node the scheduler picks."""

    name = "swarm"

    def __init__(self, client: docker.DockerClient, *, service_id: str, jobs_dir: Path,
                 options: SwarmSettings, uid: int, gid: int, lock_file: Path,
                 log_size: int = 64 * 1024 * 1024, threads: int = 16) -> None:
        super().__init__(client, threads, "swarm", log_size)
        self._options = options
        self._jobs_dir = jobs_dir
        # Held while the service runs: `innerspace swarm clean` leaves its objects alone.
        self._lock = ServiceLock(lock_file)
        self._stage = StageServer(self._api, service_id=service_id, jobs_dir=jobs_dir,
                                  options=options, uid=uid, gid=gid, lock_file=lock_file)
        self._job_ids: dict[str, str] = {}  # handle (service id) -> job id
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
                   options=settings.swarm,
                   uid=settings.sandbox.uid, gid=settings.sandbox.gid,
                   lock_file=settings.data_dir / "swarm.lock",
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
        await self._call(self._lock.take)
        try:
            self._job_config = await self._call(self._stage.script_config, "job.py")
            await self._call(self._stage.ensure)
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
                          f"{STAGE_START_TIMEOUT:g} s; see `docker logs "
                          f"{self._stage.name}`")

    # -- one job ---------------------------------------------------------------------------

    async def ensure_image(self, image: str, progress: Callable[[str], None]) -> None:
        """Nothing to do here: the node the scheduler picks pulls the image itself (or has
        it already, for a local image id)."""

    @staticmethod
    def _labels(spec: JobSpec) -> dict[str, str]:
        return {**job_labels(spec), ROLE_LABEL: "job"}

    def job_template(self, spec: JobSpec, stage: Staging) -> TaskTemplate:
        """The Swarm task of one job: the local engine's sandbox, the manifest's resources
        as reservations and limits, staging instead of bind mounts, over the job's own
        network to the stage server."""
        if self._job_config is None:
            raise EngineError("the Swarm engine was not opened")
        env: dict[str, str | bytes | None] = {**spec.env, "INNERSPACE_STAGE_URL": stage.url,
                                              "INNERSPACE_STAGE_TOKEN": stage.token}
        # /innerspace is a tmpfs, which takes the mode of the image's directory (1777 in
        # images built by innerspace), sized for the job's inputs and its result quota. Not
        # a tmpfs-backed volume: Swarm 20.10 leaves the volumes it creates for a task behind
        # on the node. Each directory the image declares a VOLUME gets a tmpfs too, so that
        # no anonymous volume is made.
        mounts = [
            Mount(CONTAINER_ROOT, None, type="tmpfs",
                  tmpfs_size=min(self._options.stage_size, stage.inputs + stage.result_quota)
                  + STAGE_SLACK, tmpfs_mode=0o1777),
            Mount("/tmp", None, type="tmpfs", tmpfs_size=spec.tmp_size, tmpfs_mode=0o777),
        ]
        for path in stage.image_volumes:
            if path.rstrip("/") not in ("/tmp", CONTAINER_ROOT):
                mounts.append(Mount(path, None, type="tmpfs", tmpfs_size=spec.tmp_size,
                                    tmpfs_mode=0o1777))
        constraints = list(self._options.constraints)
        for host_path, target in spec.mounts:
            mounts.append(Mount(target, str(host_path), type="bind", read_only=True))
            collection = target.rstrip("/").rsplit("/", 1)[-1]
            constraints.append(f"node.labels.{COLLECTION_LABEL}.{collection}==true")
        limits = ["--max-file-size", str(spec.max_file_size),
                  "--max-open-files", str(spec.max_open_files),
                  "--result-quota", str(stage.result_quota)]
        container = ContainerSpec(
            image=spec.image,
            command=["python3", f"{STAGE_DIR}/job.py", *limits, "--", *spec.argv],
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
        networks = [NetworkAttachmentConfig(stage.network)]
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

    def _open_staging(self, spec: JobSpec) -> Staging:
        """What the job's staging needs: its network and ticket (made now), the bytes it
        stages in, its result quota and the image's declared volumes (when this node has
        the image; the apps refuse images with volumes before they get here)."""
        try:
            config = self._api.inspect_image(spec.image).get("Config") or {}
        except NotFound:
            config = {}
        quota = min(spec.result_quota, self._options.stage_size)
        network, url, token = self._stage.open_job(spec, quota)
        return Staging(network=network, url=url, token=token, result_quota=quota,
                       inputs=staged_bytes(spec), image_volumes=sorted(config.get("Volumes")
                                                                       or {}))

    async def start(self, spec: JobSpec) -> str:
        stage: Staging | None = None
        try:
            if spec.network:
                await self._call(self._ensure_network, spec.network, internal=True,
                                 attachable=True)
            stage = await self._call(self._open_staging, spec)
            created = await self._call(
                self._api.create_service, self.job_template(spec, stage),
                name=job_service_name(spec.job_id), labels=self._labels(spec),
                mode=ServiceMode("replicated", replicas=1),
                endpoint_spec=EndpointSpec(mode="dnsrr"))
        except (APIError, DockerException, OSError) as exc:
            if stage is not None:
                with contextlib.suppress(Exception):
                    await self._close_staging(spec.job_id)
            if isinstance(exc, APIError):
                raise EngineError(f"the swarm refused the job: {explain(exc)}") from exc
            if isinstance(exc, OSError):
                raise EngineError(f"cannot stage the job: {exc}") from exc
            raise EngineError(f"cannot reach the Docker engine: {exc}") from exc
        handle = str(created["ID"])
        self._job_ids[handle] = spec.job_id
        return handle

    async def _close_staging(self, job_id: str) -> None:
        """The job's token dies; its network goes once its task has left it."""
        await self._call(self._stage.close_ticket, job_id)
        await self._call(self._stage.close_network, job_id)

    async def wait(self, handle: str) -> ExitStatus:
        """Block until the job's task has ended; its token then opens nothing more (the
        wrapper has sent the results before the task ended)."""
        status = await self._tasks.wait(handle)
        job_id = await self._job_of(handle)
        if job_id is not None:
            await self._call(self._stage.close_ticket, job_id)
        return status

    async def _job_of(self, handle: str) -> str | None:
        """The job id of a job's service (None: the service has gone)."""
        if handle not in self._job_ids:
            try:
                service = await self._call(self._api.inspect_service, handle)
            except NotFound:
                return None
            self._job_ids[handle] = service["Spec"]["Labels"][JOB_LABEL]
        return self._job_ids[handle]

    async def _look_at_tasks(self, handles: list[str]) -> Verdicts:
        return await self._call(self._judge.judge_all, handles)

    # -- output, stop, clean-up ----------------------------------------------------------------

    async def follow_output(self, handle: str, on_line: Callable[[str], None],
                            stderr: bool = False) -> None:
        loop = asyncio.get_running_loop()
        follower = ServiceLogFollower(self._api, handle, stderr=stderr)
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
        """Remove the job's service (Swarm then removes its container on the node, when
        the node answers again if it was away), its ticket and its network."""
        self._judge.stopped.discard(handle)
        job_id = await self._job_of(handle)
        with contextlib.suppress(NotFound):
            try:
                await self._call(self._api.remove_service, handle)
            except APIError as exc:
                raise EngineError(f"could not remove the job's service: {explain(exc)}"
                                  ) from exc
        self._job_ids.pop(handle, None)
        if job_id is not None:
            try:
                await self._close_staging(job_id)
            except APIError as exc:
                raise EngineError(f"could not remove the job's network: {explain(exc)}"
                                  ) from exc

    async def find_jobs(self, service_id: str) -> list[Found]:
        services = await self._call(self._api.services,
                                    filters={"label": f"{SERVICE_LABEL}={service_id}"})
        jobs = [s for s in services if JOB_LABEL in (s["Spec"].get("Labels") or {})]
        if not jobs:
            return []
        tasks = await self._call(self._api.tasks, filters={"service": [s["ID"] for s in jobs]})
        running = {t["ServiceID"] for t in tasks if t["Status"]["State"] not in FINAL_STATES}
        for service in jobs:
            self._job_ids[service["ID"]] = service["Spec"]["Labels"][JOB_LABEL]
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
        """Stop watching; then take down the stage server, its networks and configs unless
        jobs of this service are still on the swarm (the runner has removed the services of
        every job that ended; those left run on, and need the stage server)."""
        self._closed.set()
        await self._tasks.close()
        self._followers.shutdown(wait=False, cancel_futures=True)
        if self._node_id:  # opened
            try:
                kept_for = await self._call(self._stage.take_down)
            except (DockerException, EngineError, OSError) as exc:
                log.warning("could not take the stage server %s down: %s; `innerspace swarm "
                            "clean` removes it", self._stage.name, exc)
            else:
                if kept_for:
                    log.info("the stage server %s stays up for the %d job(s) still on the "
                             "swarm; the service picks them up when it starts again",
                             self._stage.name, kept_for)
        self._lock.release()
        await super().close()


@dataclass(frozen=True)
class Staging:
    """One job's staging: its network to the stage server, the URL of its files there, its
    token, its result quota, the bytes it stages in, and its image's declared volumes."""

    network: str
    url: str
    token: str
    result_quota: int
    inputs: int
    image_volumes: list[str]


def staged_bytes(spec: JobSpec) -> int:
    """The bytes the wrapper fetches into /innerspace: params, services and inputs."""
    paths = [spec.params_file, *([spec.services_file] if spec.services_file else [])]
    if spec.inputs_dir.is_dir():
        paths += [p for p in spec.inputs_dir.iterdir() if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in paths if p.is_file())
