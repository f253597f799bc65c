"""The engine interface: start a sandboxed container for a job, wait for it, stop, clean up.

It speaks of jobs, images, argv, files and resources, never of Docker specifics, so that a
cluster engine (Swarm, Kubernetes) can implement it. Everything an engine needs arrives in a
`ContainerSpec`; the engine knows nothing of UWS or HTTP.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from innerspace.errors import Unavailable

JOB_LABEL = "org.innerspace.job"
OWNER_LABEL = "org.innerspace.owner"
APP_LABEL = "org.innerspace.app"
# Several services may share one engine (two data centres on one host, tests): each only
# ever re-attaches or cleans up the containers carrying its own instance id.
SERVICE_LABEL = "org.innerspace.service"

# Where the runtime contract (docs/runtime.md) puts things inside the container.
CONTAINER_ROOT = "/innerspace"
CONTAINER_PARAMS = f"{CONTAINER_ROOT}/params.json"
CONTAINER_INPUTS = f"{CONTAINER_ROOT}/inputs"
CONTAINER_RESULTS = f"{CONTAINER_ROOT}/results"
CONTAINER_SERVICES = f"{CONTAINER_ROOT}/services.json"


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to run one job's container. Engines turn the identifying fields
    (job, owner, app, service) into their own labels or annotations."""

    job_id: str
    owner: str | None
    app: str
    app_version: str
    service_id: str
    image: str  # pinned image reference
    argv: list[str]
    env: dict[str, str]
    params_file: Path  # the job's files, which the engine makes visible at the contract's
    inputs_dir: Path  # paths (a local engine bind-mounts them; a cluster engine stages
    results_dir: Path  # them in and out)
    cores: float
    memory: int  # bytes
    pids: int
    tmp_size: int  # bytes
    uid: int  # never 0
    gid: int  # never 0
    # What the job may write: RLIMIT_FSIZE (no single file larger), RLIMIT_NOFILE, and the
    # bytes its results may take in all (an engine that stages results enforces it itself;
    # on the local engine the runner watches the results directory).
    max_file_size: int = 1024**3
    max_open_files: int = 1024
    result_quota: int = 1024**3
    services_file: Path | None = None  # services.json of the bound inner APIs
    mounts: tuple[tuple[Path, str], ...] = ()  # read-only data collections: host -> container
    network: str | None = None  # an isolated inner network; None: no network at all


def job_labels(spec: ContainerSpec) -> dict[str, str]:
    """The labels that tie a job's container to its job, owner, app and service; every
    engine puts them on what it creates for the job, and finds its jobs again by them."""
    return {JOB_LABEL: spec.job_id, OWNER_LABEL: spec.owner or "",
            APP_LABEL: f"{spec.app}:{spec.app_version}", SERVICE_LABEL: spec.service_id}


@dataclass(frozen=True)
class ExitStatus:
    """How a container ended: the app's exit code, or why the engine failed the job."""

    exit_code: int | None  # None when the engine, not the app, ended the job
    oom_killed: bool = False
    error: str | None = None  # the engine's note on how the app ended (e.g. "stopped")
    failure: str | None = None  # the engine, not the app, failed the job: why

    @classmethod
    def engine_failed(cls, why: str) -> ExitStatus:
        """The engine, not the app, ended the job (a lost container or node, a refusal)."""
        return cls(None, failure=why)


@dataclass(frozen=True)
class Found:
    """A job container that exists on the engine (used to re-attach after a restart)."""

    job_id: str
    handle: str
    running: bool


class EngineError(Unavailable):
    """The engine refused or failed; the message is fit to show a user."""

    topic = "the compute engine is unavailable"


class Engine(ABC):
    """A place where job containers run."""

    name: str

    @abstractmethod
    async def ensure_image(self, image: str, progress: Callable[[str], None]) -> None:
        """Make `image` (a pinned reference) available to run, pulling it if needed;
        `progress` receives short human-readable updates."""

    @abstractmethod
    async def start(self, spec: ContainerSpec) -> str:
        """Create and start the container; return the engine's handle for it."""

    @abstractmethod
    async def wait(self, handle: str) -> ExitStatus:
        """Block until the container ends (without polling where the engine can avoid it)."""

    @abstractmethod
    async def follow_output(self, handle: str, on_line: Callable[[str], None],
                            stderr: bool = False) -> None:
        """Call `on_line` with each line the container writes to stdout (to stderr when
        `stderr`), as it writes it, until the container ends."""

    @abstractmethod
    async def stop(self, handle: str) -> None:
        """Kill the container now; a no-op if it has already ended."""

    @abstractmethod
    async def collect_logs(self, handle: str, stdout: Path, stderr: Path) -> None:
        """Write the container's stdout and stderr into the two files."""

    @abstractmethod
    async def remove(self, handle: str) -> None:
        """Remove every trace of the container; a no-op if it is gone."""

    @abstractmethod
    async def find_jobs(self, service_id: str) -> list[Found]:
        """All job containers of service `service_id` on this engine, running or ended."""

    @abstractmethod
    async def check(self) -> str | None:
        """None when the engine is usable, else why not (for VOSI availability)."""

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Get ready before the first job (create networks, helper services); raise
        EngineError saying what is missing when the engine cannot be used."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and threads."""
