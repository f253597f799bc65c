"""What the engines share, without a Docker engine: the job labels, the log writer, the
line splitter of followed output, and the closable Swarm log stream."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from innerspace.engines.base import (
    APP_LABEL,
    JOB_LABEL,
    OWNER_LABEL,
    SERVICE_LABEL,
    ContainerSpec,
    ExitStatus,
    Found,
    job_labels,
)
from innerspace.engines.docker_base import DockerBackedEngine
from innerspace.engines.docker_streams import ServiceLogFollower
from innerspace.engines.swarm.engine import SwarmEngine
from innerspace.engines.swarm.objects import ROLE_LABEL


def spec(tmp_path: Path, owner: str | None = "alice") -> ContainerSpec:
    return ContainerSpec(
        job_id="job1", owner=owner, app="probe", app_version="1.0.0", service_id="svc",
        image="sha256:" + "0" * 64, argv=["run"], env={}, params_file=tmp_path / "p.json",
        inputs_dir=tmp_path, results_dir=tmp_path, cores=1, memory=1 << 26, pids=64,
        tmp_size=1 << 20, uid=10001, gid=10001)


def test_both_engines_label_a_job_alike(tmp_path: Path) -> None:
    assert job_labels(spec(tmp_path)) == {JOB_LABEL: "job1", OWNER_LABEL: "alice",
                                          APP_LABEL: "probe:1.0.0", SERVICE_LABEL: "svc"}
    assert job_labels(spec(tmp_path, owner=None))[OWNER_LABEL] == ""
    swarm = SwarmEngine._labels(spec(tmp_path))
    assert swarm == {**job_labels(spec(tmp_path)), ROLE_LABEL: "job"}


def test_an_engine_failure_has_no_exit_code() -> None:
    failed = ExitStatus.engine_failed("the container disappeared")
    assert failed.exit_code is None and failed.failure == "the container disappeared"


class FakeEngine(DockerBackedEngine):
    """The shared Docker base over canned logs; the rest of the interface is never used."""

    name = "fake"

    def __init__(self, logs: dict[bool, list[bytes] | None]) -> None:
        client: Any = SimpleNamespace(api=None, close=lambda: None)
        super().__init__(client, threads=2, thread_prefix="fake", log_size=1024)
        self.logs = logs

    def _log_chunks(self, handle: str, stdout: bool) -> Iterable[bytes] | None:
        return self.logs[stdout]

    async def ensure_image(self, image: str, progress: Callable[[str], None]) -> None:
        raise AssertionError

    async def start(self, spec: ContainerSpec) -> str:
        raise AssertionError

    async def wait(self, handle: str) -> ExitStatus:
        raise AssertionError

    async def follow_output(self, handle: str, on_line: Callable[[str], None]) -> None:
        raise AssertionError

    async def stop(self, handle: str) -> None:
        raise AssertionError

    async def remove(self, handle: str) -> None:
        raise AssertionError

    async def find_jobs(self, service_id: str) -> list[Found]:
        raise AssertionError

    async def check(self) -> str | None:
        raise AssertionError


def test_logs_are_written_stream_by_stream(tmp_path: Path) -> None:
    engine = FakeEngine({True: [b"one\n", b"two\n"], False: [b"oops\n"]})

    async def collect() -> None:
        await engine.collect_logs("h", tmp_path / "stdout", tmp_path / "stderr")
        await engine.close()

    asyncio.run(collect())
    assert (tmp_path / "stdout").read_bytes() == b"one\ntwo\n"
    assert (tmp_path / "stderr").read_bytes() == b"oops\n"


def test_a_container_without_logs_leaves_empty_files(tmp_path: Path) -> None:
    engine = FakeEngine({True: None, False: None})
    asyncio.run(engine.collect_logs("h", tmp_path / "stdout", tmp_path / "stderr"))
    assert (tmp_path / "stdout").read_bytes() == b""
    assert (tmp_path / "stderr").read_bytes() == b""


def test_followed_output_arrives_line_by_line() -> None:
    engine = FakeEngine({})
    seen: list[str] = []

    async def follow() -> None:
        loop = asyncio.get_running_loop()
        chunks = [b"par", b"tial\nwhole\n", b"caf\xc3", b"\xa9\nunfinished"]
        await loop.run_in_executor(None, engine._forward_lines, chunks, seen.append, loop)
        await asyncio.sleep(0)

    asyncio.run(follow())
    assert seen == ["partial", "whole", "café"]


class FakeStreamingAPI:
    """docker-py's private calls, over one end of a socket pair (the engine's socket)."""

    def __init__(self, engine_side: socket.socket) -> None:
        self.engine_side = engine_side
        self.requested: list[str] = []

    def _url(self, pathfmt: str, *args: str) -> str:
        return pathfmt.format(*args)

    def _get(self, url: str, **kwargs: Any) -> Any:
        self.requested.append(url)
        raw = self.engine_side.makefile("rb")  # BufferedReader over a SocketIO
        return SimpleNamespace(raw=SimpleNamespace(_fp=SimpleNamespace(fp=raw)))

    def _raise_for_status(self, response: Any) -> None:
        pass

    def _multiplexed_response_stream_helper(self, response: Any) -> Iterator[bytes]:
        while data := response.raw._fp.fp.read1(1024):
            yield data


def test_a_followed_service_log_can_be_shut_from_another_thread() -> None:
    ours, theirs = socket.socketpair()
    api = FakeStreamingAPI(ours)
    follower = ServiceLogFollower(api, "svc1")  # type: ignore[arg-type]
    theirs.sendall(b"hello\n")
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.extend(follower.chunks()))
    reader.start()
    threading.Event().wait(0.2)  # the reader now blocks: the peer never closes
    assert reader.is_alive()
    follower.shut()
    reader.join(5)
    assert not reader.is_alive(), "shutting the stream wakes its reader"
    assert received == [b"hello\n"]
    assert api.requested == ["/services/svc1/logs"]
    theirs.close()
    ours.close()


def test_a_stream_shut_before_it_opened_never_opens() -> None:
    api = FakeStreamingAPI(socket.socketpair()[0])
    follower = ServiceLogFollower(api, "svc1")  # type: ignore[arg-type]
    follower.shut()
    assert list(follower.chunks()) == []
    assert api.requested == []
