"""A fake compute engine for unit tests of the runner and the job service: no Docker.

Containers start when the runner asks and then run until the test ends them: with an exit
code (`finish`), out of memory (`run_out_of_memory`) or by an engine failure (`fail`); the
runner can stop them, list them for recovery and remove them. Image pulls can be held to
catch a job while it starts. Nothing here sleeps: tests wait for the engine's state with
`until`, which wakes on every change the engine makes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from innerspace.engines.base import ContainerSpec, Engine, EngineError, ExitStatus, Found

STOPPED = ExitStatus(137, error="stopped")
PATIENCE = 30.0  # seconds a test waits for something that should happen at once


@dataclass
class FakeContainer:
    """One job's container on the fake engine."""

    handle: str
    job_id: str
    service_id: str
    spec: ContainerSpec | None = None  # None for containers planted before a restart
    status: ExitStatus | None = None  # set when the container has ended
    stdout: str = ""
    stderr: str = ""
    removed: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    lines: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)  # stdout
    error_lines: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)  # stderr

    @property
    def running(self) -> bool:
        return self.status is None


class FakeEngine(Engine):
    """An Engine whose containers are Python objects that the test drives."""

    name = "fake"

    def __init__(self) -> None:
        self.containers: dict[str, FakeContainer] = {}  # handle -> container
        self.started: list[str] = []  # job ids, in the order their containers started
        self.stopped: list[str] = []  # handles the runner stopped
        self.pulled: list[str] = []  # images, in the order their pulls began
        self.peak = 0  # the most containers running at once
        self.start_error: Exception | None = None  # raised by the next starts, if set
        self.find_error: Exception | None = None  # raised by find_jobs, if set
        self._pulls_open = asyncio.Event()
        self._pulls_open.set()
        self._changed = asyncio.Condition()
        self._handles = itertools.count(1)

    # -- the Engine interface ------------------------------------------------------------

    async def ensure_image(self, image: str, progress: Callable[[str], None]) -> None:
        self.pulled.append(image)
        progress(f"pulling {image}")
        await self._notify()
        await self._pulls_open.wait()

    async def start(self, spec: ContainerSpec) -> str:
        if self.start_error is not None:
            raise self.start_error
        container = self._add(spec.job_id, spec.service_id, spec)
        self.started.append(spec.job_id)
        self.peak = max(self.peak, len(self.running_jobs()))
        await self._notify()
        return container.handle

    async def wait(self, handle: str) -> ExitStatus:
        container = self.containers.get(handle)
        if container is None or container.removed:
            return ExitStatus.engine_failed("the container disappeared")
        await container.ended.wait()
        assert container.status is not None
        return container.status

    async def follow_output(self, handle: str, on_line: Callable[[str], None],
                            stderr: bool = False) -> None:
        container = self.containers.get(handle)
        if container is None:
            return
        lines = container.error_lines if stderr else container.lines
        while (line := await lines.get()) is not None:
            on_line(line)

    async def stop(self, handle: str) -> None:
        container = self.containers.get(handle)
        if container is not None and container.running:
            self.stopped.append(handle)
            await self._end(container, STOPPED)

    async def collect_logs(self, handle: str, stdout: Path, stderr: Path) -> None:
        container = self.containers.get(handle)
        if container is None or container.removed:
            raise EngineError("the container is gone")
        for path, text in ((stdout, container.stdout), (stderr, container.stderr)):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    async def remove(self, handle: str) -> None:
        container = self.containers.get(handle)
        if container is not None and not container.removed:
            if container.running:
                await self._end(container, STOPPED)
            container.removed = True
            await self._notify()

    async def find_jobs(self, service_id: str) -> list[Found]:
        if self.find_error is not None:
            raise self.find_error
        return [Found(c.job_id, c.handle, c.running) for c in self.containers.values()
                if c.service_id == service_id and not c.removed]

    async def check(self) -> str | None:
        return None

    # -- what tests do to it -------------------------------------------------------------

    @property
    def pulls(self) -> int:
        return len(self.pulled)

    def hold_pulls(self) -> None:
        """Image pulls from now on wait until `release_pulls` (a job caught starting)."""
        self._pulls_open.clear()

    def release_pulls(self) -> None:
        self._pulls_open.set()

    def container_of(self, job_id: str) -> FakeContainer:
        """The job's most recent container."""
        for container in reversed(self.containers.values()):
            if container.job_id == job_id:
                return container
        raise KeyError(f"job {job_id} has no container")

    def has_container(self, job_id: str) -> bool:
        return any(c.job_id == job_id for c in self.containers.values())

    def running_jobs(self) -> list[str]:
        return [c.job_id for c in self.containers.values() if c.running and not c.removed]

    def plant(self, job_id: str, service_id: str, running: bool = True) -> str:
        """A container that exists when the service starts (left from before a restart)."""
        container = self._add(job_id, service_id, None)
        if not running:
            container.status = ExitStatus(0)
            container.ended.set()
        return container.handle

    async def say(self, job_id: str, line: str, stderr: bool = False) -> None:
        """The job's app writes `line` to stdout (to stderr when `stderr`)."""
        container = self.container_of(job_id)
        await (container.error_lines if stderr else container.lines).put(line)

    async def finish(self, job_id: str, exit_code: int = 0, *, stdout: str = "",
                     stderr: str = "", results: dict[str, str] | None = None) -> None:
        """The app ends on its own with `exit_code`, having written `results` (name ->
        text) into its results directory."""
        container = self.container_of(job_id)
        if results:
            assert container.spec is not None, "a planted container has no results directory"
            for name, text in results.items():
                path = container.spec.results_dir / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        container.stdout, container.stderr = stdout, stderr
        await self._end(container, ExitStatus(exit_code))

    async def run_out_of_memory(self, job_id: str) -> None:
        await self._end(self.container_of(job_id), ExitStatus(137, oom_killed=True))

    async def fail(self, job_id: str, why: str) -> None:
        """The engine, not the app, ends the job (a node lost, a daemon gone)."""
        await self._end(self.container_of(job_id), ExitStatus.engine_failed(why))

    async def until(self, condition: Callable[[], bool], timeout: float = PATIENCE) -> None:
        """Return as soon as `condition()` holds; it is checked after every change."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    # -- inside ----------------------------------------------------------------------------

    def _add(self, job_id: str, service_id: str, spec: ContainerSpec | None) -> FakeContainer:
        handle = f"fake-{next(self._handles):04d}"
        container = FakeContainer(handle, job_id, service_id, spec)
        self.containers[handle] = container
        return container

    async def _end(self, container: FakeContainer, status: ExitStatus) -> None:
        if container.running:
            container.status = status
            container.ended.set()
            container.lines.put_nowait(None)
            container.error_lines.put_nowait(None)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
