"""The Docker base both engines build on (engines/docker_base.py), over canned logs instead
of a Docker engine: logs are written stream by stream, and followed output arrives line by
line, split and decoded across chunk boundaries, an over-long line cut at MAX_LINE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from innerspace.engines.base import ContainerSpec, ExitStatus, Found
from innerspace.engines.docker_base import MAX_LINE, DockerBackedEngine, LineCutter


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

    async def follow_output(self, handle: str, on_line: Callable[[str], None],
                            stderr: bool = False) -> None:
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


def test_an_endless_line_is_cut_and_never_held_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container that writes megabytes without a newline: the follower delivers the first
    MAX_LINE bytes, drops the rest up to the newline, and goes on with the next line."""
    engine = CannedLogsEngine({})
    seen: list[str] = []
    held: list[int] = []
    cutter_feed = LineCutter.feed

    def chunks() -> Iterator[bytes]:
        yield b"short\n" + b"x" * 1000
        for _ in range(40):  # 40 MiB of one line
            yield b"y" * (1 << 20)
        yield b"z\nafter\n"

    def feed(self: LineCutter, chunk: bytes) -> list[bytes]:
        lines = cutter_feed(self, chunk)
        held.append(self.held)
        return lines

    async def follow() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, engine._forward_lines, chunks(), seen.append, loop)
        await asyncio.sleep(0)

    monkeypatch.setattr(LineCutter, "feed", feed)
    asyncio.run(follow())
    assert seen == ["short", ("x" * 1000 + "y" * (MAX_LINE - 1000)), "after"]
    assert max(held) <= MAX_LINE


@pytest.mark.parametrize("chunks, lines", [
    ([b"a" * 8 + b"\n"], [b"a" * 8]),  # exactly the limit: whole
    ([b"a" * 8, b"\nb\n"], [b"a" * 8, b"b"]),  # the limit, then the newline in the next chunk
    ([b"a" * 9 + b"\nb\n"], [b"a" * 8, b"b"]),  # one over: cut, the rest dropped
    ([b"a" * 5, b"a" * 5, b"a\n", b"\n"], [b"a" * 8, b""]),  # cut across chunks; empty line
    ([b"one\ntwo"], [b"one"]),  # an unfinished last line waits for its newline
])
def test_lines_are_cut_at_the_limit(chunks: list[bytes], lines: list[bytes]) -> None:
    cutter = LineCutter(8)
    found = [line for chunk in chunks for line in cutter.feed(chunk)]
    assert found == lines
    assert cutter.held <= 8
