"""The service's side of the query workers: at most `size` worker processes, started when a
query needs one and kept for the next. A query is handed to an idle worker; when no answer
has come a second after the query's time limit (a C function of SQLite that does not look
at the deadline, a sort that merges for long), the worker is killed: a query never holds
the service longer than that, whatever it does."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

from innerspace.registry.sandbox import frames
from innerspace.registry.sandbox.limits import QueryLimits

WORKER = [sys.executable, "-m", "innerspace.registry.sandbox.worker"]
KILL_GRACE = 1.0  # seconds past the time limit before a worker that has not answered dies


class QueryFailed(Exception):
    """A query ended without a result: SQLite's message (or ours), and why."""

    def __init__(self, message: str, *, expired: bool = False, memory: bool = False,
                 unavailable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.expired = expired
        self.memory = memory
        self.unavailable = unavailable


class Worker:
    """One worker process (`command`), confined to `limits`."""

    def __init__(self, limits: QueryLimits, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.answers = self.process.stdin, self.process.stdout
        frames.write(self.requests, limits.as_message())

    def ask(self, request: tuple[Any, ...], wait: float, max_size: int) -> Any:
        frames.write(self.requests, request)
        return frames.read_until(self.answers.fileno(), time.monotonic() + wait, max_size)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.requests.close()
        self.answers.close()

    def close(self) -> None:
        """End the worker the polite way: its stdin closes, it returns."""
        try:
            self.requests.close()
            self.process.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class QueryPool:
    """Runs queries in at most `size` workers; more callers wait for a free one."""

    def __init__(self, limits: QueryLimits, size: int, command: list[str] | None = None
                 ) -> None:
        self.limits = limits
        self.command = command or WORKER
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        # An answer holds the rows within max_result_bytes; anything far larger is wrong.
        self._max_answer = 2 * limits.max_result_bytes + 1024**2

    def run(self, uri: str, sql: str, max_rows: int, seconds: float | None = None
            ) -> tuple[list[str], list[Any], bool]:
        """Names, rows and overflow of one query given `seconds` (by default the time
        limit); QueryFailed if it has none."""
        seconds = self.limits.query_timeout if seconds is None else seconds
        with self._slots:
            worker = self._take()
            started = time.monotonic()
            try:
                reply = worker.ask((uri, sql, max_rows, seconds), seconds + KILL_GRACE,
                                   self._max_answer)
            except (frames.NoAnswer, OSError, ValueError, EOFError) as exc:
                worker.kill()
                if time.monotonic() - started >= seconds:
                    raise QueryFailed("interrupted", expired=True) from None
                raise QueryFailed(f"the query's process ended without an answer ({exc})",
                                  memory=True) from None
            kind = reply[0]
            if kind == "memory":
                worker.kill()
                raise QueryFailed("out of memory", memory=True)
            self._give_back(worker)
        if kind == "rows":
            return list(reply[1]), list(reply[2]), bool(reply[3])
        if kind == "unavailable":
            raise QueryFailed(str(reply[1]), unavailable=True)
        raise QueryFailed(str(reply[1]), expired=bool(reply[2]))

    def _take(self) -> Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.poll() is None:
                    return worker
                worker.kill()
        return Worker(self.limits, self.command)

    def _give_back(self, worker: Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def close(self) -> None:
        """End the idle workers (a busy one ends when its query has)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()
