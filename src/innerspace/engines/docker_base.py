"""What the engines that talk to a Docker engine share (the local engine and the Swarm one):
the client, a thread pool of their own for its blocking calls, the log writer and the line
splitter of followed output.

The Docker SDK is synchronous; its calls run on a pool sized above the job limit, because
waiting holds a thread per running job and many blocking waits must never starve the rest
of the service.
"""

from __future__ import annotations

import asyncio
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import ParamSpec, TypeVar

import docker
from docker.errors import APIError, DockerException
from requests.exceptions import RequestException

from innerspace.config import Settings
from innerspace.dockerhost import docker_client
from innerspace.engines.base import Engine, EngineError

P = ParamSpec("P")
T = TypeVar("T")

# The longest line of followed output handed on (the follower reads progress reports, which
# are short); the full output still reaches the job's stdout log, bounded by log_size.
MAX_LINE = 64 * 1024


class LineCutter:
    """Splits a byte stream into lines while holding at most `limit` bytes of one: a longer
    line is delivered cut at `limit`, and the rest of it is skipped up to its newline."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._pending = bytearray()
        self._skipping = False  # inside the dropped tail of an over-long line

    @property
    def held(self) -> int:
        """Bytes of an unfinished line held now (never more than the limit)."""
        return len(self._pending)

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines that `chunk` completes (or cuts), in order."""
        lines: list[bytes] = []
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not self._skipping:
                room = self._limit - len(self._pending)
                self._pending += piece[:room]
                if len(piece) >= room and (end < 0 or len(piece) > room):
                    lines.append(bytes(self._pending))  # cut: deliver what fits now
                    self._pending.clear()
                    self._skipping = True
            if end < 0:
                break
            if not self._skipping:
                lines.append(bytes(self._pending))
            self._pending.clear()
            self._skipping = False
            start = end + 1
        return lines


def connect(settings: Settings) -> docker.DockerClient:
    """The client for the settings' Docker engine, or an EngineError saying why not."""
    try:
        return docker_client(settings.docker_host)
    except DockerException as exc:
        raise EngineError(f"cannot reach the Docker engine: {exc}") from exc


def engine_threads(settings: Settings) -> int:
    """Waiting and following stdout and stderr hold three threads per running job: size a
    pool above that."""
    return settings.limits.max_running_jobs * 3 + 8


def explain(exc: APIError) -> str:
    """The engine's own words for a refusal, when it gave any."""
    return str(getattr(exc, "explanation", None) or exc)


class DockerBackedEngine(Engine):
    """An engine that talks to a Docker engine through the SDK's low-level client."""

    def __init__(self, client: docker.DockerClient, threads: int, thread_prefix: str,
                 log_size: int) -> None:
        self._client = client
        self._api = client.api
        self._log_size = log_size  # bytes of output kept per container
        self._closed = threading.Event()  # tells blocking loops in threads to end
        self._networks: set[str] = set()  # networks already made sure of
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=thread_prefix)

    async def _call(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one blocking SDK call on the pool; a connection failure becomes an
        EngineError, while the engine's own answers (APIError) are left to the caller."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, partial(func, *args, **kwargs))
        except APIError:
            raise  # the engine answered (APIError is a requests HTTPError): callers decide
        except RequestException as exc:
            raise EngineError(f"cannot reach the Docker engine: {exc}") from exc

    def _forward_lines(self, chunks: Iterable[bytes], on_line: Callable[[str], None],
                       loop: asyncio.AbstractEventLoop) -> None:
        """Hand each line of a followed output stream to `on_line` on the event loop, until
        the stream ends or the engine closes (called from a pool thread). A line longer
        than MAX_LINE is cut: its first MAX_LINE bytes are delivered and the rest is dropped
        up to the next newline, so a container that never writes one cannot make the
        service hold more than MAX_LINE bytes of its output."""
        lines = LineCutter(MAX_LINE)
        for chunk in chunks:
            for line in lines.feed(chunk):
                loop.call_soon_threadsafe(on_line, line.decode("utf-8", "replace"))
            if self._closed.is_set():
                return

    @abstractmethod
    def _log_chunks(self, handle: str, stdout: bool) -> Iterable[bytes] | None:
        """The container's whole stdout (or stderr), or None when it has no logs to give
        (it is gone): the engine's own call for that (blocking)."""

    async def collect_logs(self, handle: str, stdout: Path, stderr: Path) -> None:
        await self._call(self._write_logs, handle, stdout, stderr)

    def _write_logs(self, handle: str, stdout: Path, stderr: Path) -> None:
        """Stream stdout and stderr into their files; a stream with no logs leaves an
        empty file."""
        for path, is_stdout in ((stdout, True), (stderr, False)):
            chunks = self._log_chunks(handle, stdout=is_stdout)
            if chunks is None:
                path.touch()
                continue
            with path.open("wb") as file:
                for chunk in chunks:
                    file.write(chunk)

    async def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()
