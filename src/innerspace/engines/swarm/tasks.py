"""Watching the jobs' tasks on a swarm, and judging how each one ended.

Swarm (API 1.41) publishes no task events, so one loop looks at the tasks of all jobs being
waited for in a single call every `poll_interval` seconds; a job's end is seen within that.
A task's end becomes an ExitStatus: the app's own exit code when the app ended it, or
`ExitStatus.engine_failed` saying why when the swarm did (a node drained or gone, a
placement that cannot be met).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import docker
from docker.errors import DockerException

from innerspace.engines.base import SERVICE_LABEL, EngineError, ExitStatus

log = logging.getLogger(__name__)

FINAL_STATES = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}
PLACED_STATES = {"assigned", "accepted", "preparing", "starting", "running"}
NODE_GONE = {"down", "unknown", "disconnected"}
SWARM_PATIENCE = 60.0  # seconds of failed looks before the waited-for jobs are given up
KILLED = 137  # the exit status of a container killed by SIGKILL, as the local engine says

Verdicts = dict[str, ExitStatus]  # service id (a job's handle) -> how its task ended


class TaskJudge:
    """Reads the tasks of the jobs of one innerspace service and says which have ended,
    and how. Its calls block (run them on the engine's pool)."""

    def __init__(self, api: docker.APIClient, service_id: str) -> None:
        self._api = api
        self._service_id = service_id
        self.stopped: set[str] = set()  # handles the engine stopped on purpose

    def judge_all(self, handles: list[str]) -> Verdicts:
        """The jobs among `handles` whose task has ended (or whose node has gone)."""
        services = {s["ID"] for s in self._api.services(
            filters={"label": f"{SERVICE_LABEL}={self._service_id}"})}
        verdicts: Verdicts = {}
        alive = [h for h in handles if h in services]
        for handle in handles:
            if handle not in services:
                verdicts[handle] = ExitStatus.engine_failed("the job's swarm service disappeared")
        if not alive:
            return verdicts
        tasks: dict[str, list[dict[str, Any]]] = {}
        for task in self._api.tasks(filters={"service": alive}):
            tasks.setdefault(task["ServiceID"], []).append(task)
        nodes: dict[str, dict[str, Any]] | None = None
        for handle in alive:
            if not tasks.get(handle):
                if handle in self.stopped:  # stopped before a task was placed: none left
                    verdicts[handle] = ExitStatus(KILLED, error="stopped")
                continue
            task = max(tasks[handle], key=lambda t: t["Version"]["Index"])
            state = task["Status"]["State"]
            if state in PLACED_STATES and task.get("NodeID"):
                if nodes is None:
                    nodes = self._nodes()
                node = nodes.get(task["NodeID"])
                if node is not None and node["Status"]["State"] in NODE_GONE:
                    verdicts[handle] = ExitStatus.engine_failed(
                        f"node {node_name(node)} stopped answering while the job ran")
                continue
            if state in FINAL_STATES:
                if nodes is None:
                    nodes = self._nodes()
                verdicts[handle] = self.ended(handle, task, nodes)
        return verdicts

    def _nodes(self) -> dict[str, dict[str, Any]]:
        return {n["ID"]: n for n in self._api.nodes()}

    def ended(self, handle: str, task: dict[str, Any],
              nodes: dict[str, dict[str, Any]]) -> ExitStatus:
        """How the job ended, from its task in a final state."""
        status = task["Status"]
        state = status["State"]
        code = (status.get("ContainerStatus") or {}).get("ExitCode")
        error = status.get("Err") or None
        if state == "complete":
            return ExitStatus(int(code or 0))
        if state == "failed" and code not in (None, 0) and "non-zero exit" in (error or ""):
            return ExitStatus(int(code))  # the app's own failure: its stderr says why
        if handle in self.stopped:
            return ExitStatus(int(code) if code else KILLED, error="stopped")
        node = nodes.get(task.get("NodeID", ""))
        if state == "shutdown" and node is not None:
            if node["Spec"].get("Availability") == "drain":
                return ExitStatus.engine_failed(f"node {node_name(node)} was drained while "
                                                f"the job ran, so the swarm stopped it")
            return ExitStatus.engine_failed(f"the swarm stopped the job on node "
                                            f"{node_name(node)}")
        if state == "rejected":
            return ExitStatus.engine_failed(f"the swarm could not run the job: {error}")
        why = f"the job's task ended in state {state}" + (f": {error}" if error else "")
        if code and int(code) > 0:  # the app had exited (negative: no status at all)
            return ExitStatus(int(code), error=why)
        return ExitStatus.engine_failed(why)


class TaskPoller:
    """The one loop that looks, in a single call, at the tasks of every job waited for,
    and hands each waiter its job's ExitStatus; it runs while anyone waits."""

    def __init__(self, look: Callable[[list[str]], Awaitable[Verdicts]], interval: float,
                 closed: threading.Event) -> None:
        self._look = look  # TaskJudge.judge_all, off the event loop
        self._interval = interval
        self._closed = closed
        self._waiters: dict[str, list[asyncio.Future[ExitStatus]]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def wait(self, handle: str) -> ExitStatus:
        """Block until the job's task has ended; how it ended."""
        future: asyncio.Future[ExitStatus] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(handle, []).append(future)
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._poll(), name="swarm-poller")
        self._wake.set()
        try:
            return await future
        finally:
            waiting = self._waiters.get(handle, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(handle, None)

    def wake(self) -> None:
        """Look now (a job was just stopped), not at the next interval."""
        self._wake.set()

    async def _poll(self) -> None:
        """Look at every waited-for job's task in one call, until nobody waits."""
        silent_since: float | None = None
        while self._waiters and not self._closed.is_set():
            try:
                verdicts = await self._look(list(self._waiters))
                silent_since = None
            except (EngineError, DockerException) as exc:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since < SWARM_PATIENCE:
                    log.warning("swarm: cannot look at the jobs' tasks: %s", exc)
                    verdicts = {}
                else:
                    verdicts = {h: ExitStatus.engine_failed(f"lost contact with the swarm: {exc}")
                                for h in self._waiters}
            for handle, status in verdicts.items():
                for future in self._waiters.get(handle, []):
                    if not future.done():
                        future.set_result(status)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)

    async def close(self) -> None:
        """Stop looking (the engine is closing)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop_task


def node_name(node: dict[str, Any]) -> str:
    """A node as an operator knows it: host name, short id and address."""
    address = (node.get("Status") or {}).get("Addr", "")
    name = (node.get("Description") or {}).get("Hostname", node["ID"][:12])
    return f"{name} ({node['ID'][:12]}, {address})" if address else name
