"""The Docker base both engines build on (engines/docker_base.py), over canned logs instead
of a Docker engine: logs are written stream by stream, and followed output arrives line by
line, split and decoded across chunk boundaries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from innerspace.engines.base import ContainerSpec, ExitStatus, Found
from innerspace.engines.docker_base import DockerBackedEngine


class CannedLogsEngine(DockerBackedEngine):
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
    engine = CannedLogsEngine({True: [b"one\n", b"two\n"], False: [b"oops\n"]})

    async def collect() -> None:
        await engine.collect_logs("h", tmp_path / "stdout", tmp_path / "stderr")
        await engine.close()

    asyncio.run(collect())
    assert (tmp_path / "stdout").read_bytes() == b"one\ntwo\n"
    assert (tmp_path / "stderr").read_bytes() == b"oops\n"


def test_a_container_without_logs_leaves_empty_files(tmp_path: Path) -> None:
    engine = CannedLogsEngine({True: None, False: None})
    asyncio.run(engine.collect_logs("h", tmp_path / "stdout", tmp_path / "stderr"))
    assert (tmp_path / "stdout").read_bytes() == b""
    assert (tmp_path / "stderr").read_bytes() == b""


def test_followed_output_arrives_line_by_line() -> None:
    engine = CannedLogsEngine({})
    seen: list[str] = []

    async def follow() -> None:
        loop = asyncio.get_running_loop()
        chunks = [b"par", b"tial\nwhole\n", b"caf\xc3", b"\xa9\nunfinished"]
        await loop.run_in_executor(None, engine._forward_lines, chunks, seen.append, loop)
        await asyncio.sleep(0)

    asyncio.run(follow())
    assert seen == ["partial", "whole", "café"]
