"""The messages between the service and a query worker, over the worker's stdin and
stdout: each a length and a `marshal`led value (tuples, lists, dicts, strings, bytes and
numbers only: nothing a query's result could turn into code, unlike pickle). The service
reads with a deadline, so that a worker that never answers cannot hold it."""

from __future__ import annotations

import marshal
import os
import select
import struct
import time
from typing import IO, Any

HEADER = struct.Struct(">Q")


class NoAnswer(Exception):
    """The worker did not answer in time, or its end of the pipe closed."""


def write(stream: IO[bytes], value: Any) -> None:
    data = marshal.dumps(value)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read(stream: IO[bytes]) -> Any:
    """The next message, waiting as long as it takes (the worker's side); None at the end."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return marshal.loads(data)


def read_until(fd: int, deadline: float, max_size: int) -> Any:
    """The next message on `fd` by the monotonic `deadline`; NoAnswer otherwise (or when
    the message would be larger than `max_size` bytes)."""
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if size > max_size:
        raise NoAnswer(f"an answer of {size} bytes, more than {max_size}")
    return marshal.loads(_read_exactly(fd, size, deadline))


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise NoAnswer("no answer in time")
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise NoAnswer("the worker's end closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
