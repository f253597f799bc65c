"""The local Docker engine: one container per job on the engine the service talks to.

Its blocking SDK calls run on the thread pool of the shared Docker base (docker_base.py).
Waiting is done in short slices, so that the threads come back when the service shuts down.
A job that needs inner APIs gets a network of its own (job_network.py); every directory the
image declares as a VOLUME is covered by a size-limited tmpfs, so that the engine never
makes an anonymous volume (writable, unlimited space around the read-only root).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import LogConfig, Ulimit
from requests.exceptions import RequestException

from innerspace.config import Settings
from innerspace.engines.base import (
    CONTAINER_INPUTS,
    CONTAINER_PARAMS,
    CONTAINER_RESULTS,
    CONTAINER_SERVICES,
    JOB_LABEL,
    SERVICE_LABEL,
    ContainerSpec,
    EngineError,
    ExitStatus,
    Found,
    job_labels,
)
from innerspace.engines.docker_base import DockerBackedEngine, connect, engine_threads, explain
from innerspace.engines.job_network import JobNetworks, job_network_name

WAIT_SLICE = 5  # seconds one blocking wait call may last
ENGINE_PATIENCE = 60  # seconds of engine silence before a running job is given up
SHM_SIZE = 16 * 1024 * 1024


class DockerEngine(DockerBackedEngine):
    """Runs job containers on one Docker engine."""

    name = "docker"

    def __init__(self, client: docker.DockerClient, threads: int = 16,
                 log_size: int = 64 * 1024 * 1024,
                 registry_auth: dict[str, dict[str, str]] | None = None) -> None:
        super().__init__(client, threads, "docker", log_size)
        self._registry_auth = registry_auth or {}  # registry host -> credentials
        self._job_networks = JobNetworks(self._api)

    @classmethod
    def from_settings(cls, settings: Settings) -> DockerEngine:
        repository = settings.repository
        auth = ({repository.host: {"username": repository.username,
                                   "password": repository.password or ""}}
                if repository.host and repository.username else {})
        return cls(connect(settings), threads=engine_threads(settings),
                   log_size=settings.limits.log_size, registry_auth=auth)

    def host_config(self, spec: ContainerSpec, image_volumes: Iterable[str] = (),
                    network: str | None = None) -> dict[str, Any]:
        """The sandbox: a read-only root, the job's files bound at the contract's paths,
        tmpfs for /tmp and for each of the image's declared volumes, no capabilities, the
        spec's resources and rlimits, and `network` (the job's own) or none at all."""
        binds: dict[str, Mapping[str, str]] = {
            str(spec.params_file): {"bind": CONTAINER_PARAMS, "mode": "ro"},
            str(spec.inputs_dir): {"bind": CONTAINER_INPUTS, "mode": "ro"},
            str(spec.results_dir): {"bind": CONTAINER_RESULTS, "mode": "rw"},
        }
        if spec.services_file is not None:
            binds[str(spec.services_file)] = {"bind": CONTAINER_SERVICES, "mode": "ro"}
        for host_path, container_path in spec.mounts:
            binds[str(host_path)] = {"bind": container_path, "mode": "ro"}
        scratch = f"rw,nosuid,nodev,size={spec.tmp_size},mode=1777"
        tmpfs = {"/tmp": scratch}
        for path in image_volumes:  # never an anonymous volume: bounded scratch space
            if path.rstrip("/") not in tmpfs and path.rstrip("/") not in covered(binds):
                tmpfs[path.rstrip("/") or "/"] = scratch
        return self._api.create_host_config(
            binds=binds,
            read_only=True,
            tmpfs=tmpfs,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=spec.pids,
            nano_cpus=int(spec.cores * 1e9),
            mem_limit=spec.memory,
            memswap_limit=spec.memory,  # no swap: the memory limit is the limit
            network_mode=network or "none",
            ipc_mode="private",
            shm_size=SHM_SIZE,
            ulimits=[Ulimit(name="fsize", soft=spec.max_file_size, hard=spec.max_file_size),
                     Ulimit(name="nofile", soft=spec.max_open_files, hard=spec.max_open_files)],
            log_config=LogConfig(type="json-file", config={"max-size": str(self._log_size),
                                                           "max-file": "1"}),
        )

    async def ensure_image(self, image: str, progress: Callable[[str], None]) -> None:
        try:
            await self._call(self._api.inspect_image, image)
            return
        except NotFound:
            pass
        except APIError as exc:
            raise EngineError(f"cannot inspect image {image}: {explain(exc)}") from exc
        loop = asyncio.get_running_loop()

        def report(text: str) -> None:
            loop.call_soon_threadsafe(progress, text)

        await self._call(self._pull, image, report)

    def _pull(self, image: str, report: Callable[[str], None]) -> None:
        """Pull by digest, reporting the layers' progress about once a second."""
        layers: dict[str, tuple[int, int]] = {}
        last = 0.0
        report(f"pulling image {image}")
        try:
            auth = self._registry_auth.get(image.split("/", 1)[0])
            for event in self._api.pull(image, stream=True, decode=True, auth_config=auth):
                if "error" in event:
                    raise EngineError(f"pulling {image} failed: {event['error']}")
                detail = event.get("progressDetail") or {}
                if event.get("id") and detail.get("total"):
                    layers[event["id"]] = (int(detail.get("current", 0)), int(detail["total"]))
                now = time.monotonic()
                if layers and now - last >= 1.0:
                    done = sum(c for c, _ in layers.values())
                    total = sum(t for _, t in layers.values())
                    report(f"pulling image: {done / max(total, 1):.0%} of "
                           f"{total / 1e6:.0f} MB")
                    last = now
        except NotFound as exc:
            raise EngineError(f"image {image} is not in its registry: {explain(exc)}") from exc
        except APIError as exc:
            raise EngineError(f"pulling {image} failed: {explain(exc)}") from exc
        report("image pulled")

    def _image_volumes(self, image: str) -> list[str]:
        """The directories the image declares as VOLUMEs."""
        config = self._api.inspect_image(image).get("Config") or {}
        return sorted(config.get("Volumes") or {})

    async def start(self, spec: ContainerSpec) -> str:
        try:
            volumes = await self._call(self._image_volumes, spec.image)
        except ImageNotFound as exc:
            raise EngineError(f"image {spec.image} is not on the engine") from exc
        except APIError as exc:
            raise EngineError(f"cannot inspect image {spec.image}: {explain(exc)}") from exc
        network = None
        if spec.network:
            try:
                network = await self._call(self._job_networks.create, spec, spec.network)
            except APIError as exc:
                raise EngineError(f"cannot create the job's network on the inner network "
                                  f"{spec.network}: {explain(exc)}") from exc
        try:
            return await self._create_and_start(spec, volumes, network)
        except EngineError:
            if network:
                with contextlib.suppress(Exception):
                    await self._call(self._job_networks.remove, network)
            raise

    async def _create_and_start(self, spec: ContainerSpec, volumes: list[str],
                                network: str | None) -> str:
        try:
            created = await self._call(
                self._api.create_container,
                spec.image,
                command=spec.argv,
                user=f"{spec.uid}:{spec.gid}",
                environment=spec.env,
                labels=job_labels(spec),
                name=f"innerspace-{spec.job_id}",
                host_config=self.host_config(spec, volumes, network),
                network_disabled=network is None,
            )
        except ImageNotFound as exc:
            raise EngineError(f"image {spec.image} is not on the engine") from exc
        except APIError as exc:
            raise EngineError(f"the engine refused the container: {explain(exc)}") from exc
        except DockerException as exc:
            raise EngineError(f"cannot reach the Docker engine: {exc}") from exc
        handle = str(created["Id"])
        try:
            await self._call(self._api.start, handle)
        except (APIError, EngineError) as exc:
            with contextlib.suppress(Exception):
                await self.remove(handle)
            detail = explain(exc) if isinstance(exc, APIError) else str(exc)
            raise EngineError(f"the container did not start: {detail}") from exc
        return handle

    def _wait_blocking(self, handle: str) -> dict[str, Any]:
        silent_since: float | None = None
        while not self._closed.is_set():
            try:
                return dict(self._api.wait(handle, timeout=WAIT_SLICE))
            except RequestException as exc:
                if "timed out" in str(exc).lower():
                    silent_since = None  # the engine answered; the container still runs
                    continue
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > ENGINE_PATIENCE:
                    raise
                time.sleep(1)
        raise EngineError("the engine is closing")

    async def wait(self, handle: str) -> ExitStatus:
        try:
            result = await self._call(self._wait_blocking, handle)
            state = await self._call(self._api.inspect_container, handle)
        except NotFound:
            return ExitStatus.engine_failed("the container disappeared")
        except (APIError, DockerException, EngineError) as exc:
            return ExitStatus.engine_failed(f"lost contact with the engine: {exc}")
        status = state.get("State", {})
        error = (result.get("Error") or {}).get("Message") or status.get("Error") or None
        code = result.get("StatusCode")
        if code is None or int(code) < 0:  # the engine has no exit status to give
            return ExitStatus.engine_failed(error or "the engine did not report an exit status")
        return ExitStatus(exit_code=int(code), oom_killed=bool(status.get("OOMKilled")),
                          error=error or None)

    async def follow_output(self, handle: str, on_line: Callable[[str], None],
                            stderr: bool = False) -> None:
        loop = asyncio.get_running_loop()

        def follow() -> None:
            chunks = self._api.logs(handle, stdout=not stderr, stderr=stderr, stream=True,
                                    follow=True)
            self._forward_lines(chunks, on_line, loop)

        with contextlib.suppress(NotFound):
            await self._call(follow)

    async def stop(self, handle: str) -> None:
        with contextlib.suppress(NotFound):
            try:
                await self._call(self._api.kill, handle)
            except APIError as exc:
                if exc.response is None or exc.response.status_code != 409:  # not running
                    raise EngineError(f"could not stop the container: {explain(exc)}") from exc

    def _log_chunks(self, handle: str, stdout: bool) -> Iterable[bytes] | None:
        try:
            chunks: Iterable[bytes] = self._api.logs(handle, stdout=stdout, stderr=not stdout,
                                                     stream=True)
        except NotFound:
            return None
        return chunks

    async def remove(self, handle: str) -> None:
        """Remove the container, its anonymous volumes (there should be none) and the
        job's own network."""
        try:
            attrs = await self._call(self._api.inspect_container, handle)
        except NotFound:
            return
        job_id = (attrs["Config"].get("Labels") or {}).get(JOB_LABEL)
        with contextlib.suppress(NotFound):
            try:
                await self._call(self._api.remove_container, handle, force=True, v=True)
            except APIError as exc:
                if exc.response is None or exc.response.status_code != 409:  # already going
                    raise EngineError(f"could not remove the container: {explain(exc)}"
                                      ) from exc
        if job_id and job_network_name(job_id) in (attrs["NetworkSettings"].get("Networks")
                                                   or {}):
            try:
                await self._call(self._job_networks.remove, job_network_name(job_id))
            except APIError as exc:
                raise EngineError(f"could not remove the job's network: {explain(exc)}"
                                  ) from exc

    async def find_jobs(self, service_id: str) -> list[Found]:
        """The service's job containers; the networks of jobs whose container has gone
        (removed behind the service's back) are removed on the way."""
        containers = await self._call(self._api.containers, all=True,
                                      filters={"label": f"{SERVICE_LABEL}={service_id}"})
        found = [Found(job_id=c["Labels"][JOB_LABEL], handle=c["Id"],
                       running=c.get("State") == "running")
                 for c in containers if JOB_LABEL in (c.get("Labels") or {})]
        live = {f.job_id for f in found}
        for network in await self._call(self._job_networks.leftovers, service_id, live):
            with contextlib.suppress(APIError):
                await self._call(self._job_networks.remove, network)
        return found

    async def check(self) -> str | None:
        try:
            await self._call(self._api.ping)
        except (DockerException, EngineError, OSError) as exc:
            return f"the Docker engine does not answer: {exc}"
        return None


def covered(binds: Mapping[str, Mapping[str, str]]) -> set[str]:
    """The container paths that binds already cover."""
    return {bind["bind"].rstrip("/") for bind in binds.values()}
