"""How the Swarm engine judges its jobs' tasks, and its one poll loop, against a stand-in
for the Docker API (the real swarm is exercised in tests/integration/swarm)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from innerspace.engines.base import SERVICE_LABEL, ExitStatus
from innerspace.engines.swarm.tasks import KILLED, TaskJudge, TaskPoller, node_name

SERVICE = "svc-1"


def node(node_id: str, state: str = "ready", availability: str = "active") -> dict[str, Any]:
    return {"ID": node_id, "Status": {"State": state, "Addr": "10.0.0.2"},
            "Spec": {"Availability": availability}, "Description": {"Hostname": "isnode2"}}


def task(service: str, state: str, *, code: int | None = None, err: str | None = None,
         node_id: str = "node-2", index: int = 1) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if code is not None:
        status["ContainerStatus"] = {"ExitCode": code}
    if err:
        status["Err"] = err
    return {"ServiceID": service, "Status": status, "NodeID": node_id,
            "Version": {"Index": index}}


class FakeSwarm:
    """The three calls the judge makes."""

    def __init__(self, services: list[str], tasks: list[dict[str, Any]],
                 nodes: list[dict[str, Any]]) -> None:
        self._services, self._tasks, self._nodes = services, tasks, nodes

    def services(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        assert filters == {"label": f"{SERVICE_LABEL}={SERVICE}"}
        return [{"ID": s} for s in self._services]

    def tasks(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return [t for t in self._tasks if t["ServiceID"] in filters["service"]]

    def nodes(self) -> list[dict[str, Any]]:
        return self._nodes


def judge(tasks: list[dict[str, Any]], *, services: list[str] | None = None,
          nodes: list[dict[str, Any]] | None = None,
          stopped: set[str] | None = None) -> dict[str, ExitStatus]:
    handles = services if services is not None else sorted({t["ServiceID"] for t in tasks})
    fake = FakeSwarm(handles, tasks, nodes if nodes is not None else [node("node-2")])
    the_judge = TaskJudge(fake, SERVICE)  # type: ignore[arg-type]
    the_judge.stopped |= stopped or set()
    return the_judge.judge_all(handles)


def test_a_completed_task_is_the_apps_success() -> None:
    assert judge([task("a", "complete", code=0)]) == {"a": ExitStatus(0)}


def test_a_task_still_running_on_a_live_node_has_no_verdict() -> None:
    assert judge([task("a", "running")]) == {}
    assert judge([task("a", "pending", node_id="")]) == {}


def test_the_latest_task_counts() -> None:
    tasks = [task("a", "failed", code=3, err="task: non-zero exit (3)", index=1),
             task("a", "running", index=2)]
    assert judge(tasks) == {}


def test_the_apps_own_failure_keeps_its_exit_code() -> None:
    verdict = judge([task("a", "failed", code=3, err="task: non-zero exit (3)")])["a"]
    assert verdict == ExitStatus(3)
    assert verdict.failure is None


def test_a_drained_node_is_the_engines_failure() -> None:
    verdict = judge([task("a", "shutdown")], nodes=[node("node-2", availability="drain")])["a"]
    assert verdict.exit_code is None
    assert verdict.failure is not None and "was drained" in verdict.failure
    assert "isnode2" in verdict.failure


def test_a_node_that_stops_answering_fails_its_running_job() -> None:
    verdict = judge([task("a", "running")], nodes=[node("node-2", state="down")])["a"]
    assert verdict.exit_code is None
    assert verdict.failure is not None and "stopped answering" in verdict.failure


def test_a_rejected_task_is_the_engines_failure() -> None:
    verdict = judge([task("a", "rejected", err="no suitable node")])["a"]
    assert verdict == ExitStatus.engine_failed("the swarm could not run the job: "
                                               "no suitable node")


def test_a_service_that_disappeared_is_the_engines_failure() -> None:
    verdicts = judge([], services=[])
    assert verdicts == {}
    fake = FakeSwarm([], [], [])
    assert TaskJudge(fake, SERVICE).judge_all(["gone"]) == {  # type: ignore[arg-type]
        "gone": ExitStatus.engine_failed("the job's swarm service disappeared")}


def test_a_stopped_job_ends_as_killed_even_without_a_task() -> None:
    assert judge([], services=["a"], stopped={"a"}) == {"a": ExitStatus(KILLED, error="stopped")}
    assert judge([], services=["a"]) == {}
    shut = judge([task("a", "shutdown")], stopped={"a"})["a"]
    assert shut == ExitStatus(KILLED, error="stopped")


def test_no_negative_exit_code_stands_for_an_engine_failure() -> None:
    odd = judge([task("a", "orphaned", code=-1, err="lost")])["a"]
    assert odd.exit_code is None and odd.failure == "the job's task ended in state orphaned: lost"
    app = judge([task("a", "orphaned", code=2)])["a"]
    assert app == ExitStatus(2, error="the job's task ended in state orphaned")


def test_node_names_say_host_id_and_address() -> None:
    assert node_name(node("0123456789abcdef")) == "isnode2 (0123456789ab, 10.0.0.2)"
    assert node_name({"ID": "0123456789abcdef"}) == "0123456789ab"


def test_one_poll_loop_answers_every_waiter() -> None:
    looked: list[list[str]] = []
    ended: dict[str, ExitStatus] = {}

    async def look(handles: list[str]) -> dict[str, ExitStatus]:
        looked.append(sorted(handles))
        return {h: ended[h] for h in handles if h in ended}

    async def scenario() -> tuple[ExitStatus, ExitStatus]:
        poller = TaskPoller(look, interval=0.01, closed=threading.Event())
        first = asyncio.create_task(poller.wait("a"))
        second = asyncio.create_task(poller.wait("b"))
        await asyncio.sleep(0.05)
        ended["a"] = ExitStatus(0)
        ended["b"] = ExitStatus.engine_failed("gone")
        poller.wake()
        result = await asyncio.wait_for(asyncio.gather(first, second), 5)
        await poller.close()
        return result[0], result[1]

    first, second = asyncio.run(scenario())
    assert first == ExitStatus(0)
    assert second.failure == "gone"
    assert ["a", "b"] in looked  # both jobs in one look
