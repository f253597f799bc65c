"""A query worker: `python -m innerspace.registry.sandbox.worker`, started by the service's
`pool`. It reads its `QueryLimits`, confines itself -- its data memory to
`query_process_memory`, each file it writes (SQLite's temporary files) to `query_temp_size`
-- and then answers one query after another until its stdin closes:

    (database URI, SQL, most rows, seconds) -> ("rows", names, rows, overflow)
                                    | ("error", SQLite's message, whether time ran out)
                                    | ("memory",)  (and the worker ends)
                                    | ("unavailable", why)
"""

from __future__ import annotations

import contextlib
import resource
import signal
import sqlite3
import sys
from typing import IO, Any

from innerspace.registry.sandbox import frames
from innerspace.registry.sandbox.deadline import Deadline
from innerspace.registry.sandbox.fetch import fetch
from innerspace.registry.sandbox.guard import guard
from innerspace.registry.sandbox.limits import QueryLimits


def confine(limits: QueryLimits) -> None:
    """Limits of this process, which no query can lift."""
    memory, temp = limits.query_process_memory, limits.query_temp_size
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (temp, temp))  # past it, writes fail (EFBIG)
    # The service ends its workers (by closing their stdin), not a Ctrl-C at its terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def answer(uri: str, sql: str, max_rows: int, seconds: float, limits: QueryLimits
           ) -> tuple[Any, ...]:
    deadline = Deadline(seconds)
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            guard(connection, limits, deadline)
            if connection.execute("SELECT 'a' LIKE 'A'").fetchone()[0]:
                return ("unavailable", "this SQLite cannot match LIKE case-sensitively")
            cursor = connection.execute(sql)
            names = [d[0] for d in cursor.description or ()]
            rows, overflow = fetch(cursor, max_rows, limits.max_result_bytes)
            return ("rows", names, rows, overflow)
    except sqlite3.Error as exc:
        return ("error", str(exc), deadline.expired)
    except MemoryError:
        return ("memory",)


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    limits = QueryLimits.from_message(frames.read(requests))
    confine(limits)
    while (request := frames.read(requests)) is not None:
        uri, sql, max_rows, seconds = request
        reply = answer(uri, sql, max_rows, seconds, limits)
        frames.write(answers, reply)
        if reply[0] == "memory":
            return  # what ran out of memory may be half done: a fresh worker takes over


def main() -> None:
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # the answers' pipe carries nothing but answers
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
