"""The live tail of running jobs' output: the last lines each job has written to stdout and
stderr while it runs, for the job page (the complete logs are written into the job's files
when it ends, engine.collect_logs).

Bounded: per job and stream at most MAX_LINES lines and MAX_CHARS characters (a line is
kept to MAX_LINE_CHARS; the engines already cut lines at 64 KiB), so a job holds at most
2 x MAX_CHARS characters here, and all jobs together at most that times the number of
running jobs (limits.max_running_jobs): only running jobs have a tail, and a job's goes
when its run ends.

Lines are numbered from 1 across both streams in the order they arrive; a reader keeps the
number of the last line it has (its cursor) and asks for those after it. A reader waits
for new lines on the event `watch` gives, which the next line (or the end of the tail)
sets: nobody polls.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Stream = Literal["stdout", "stderr"]
STREAMS: tuple[Stream, ...] = ("stdout", "stderr")
MAX_LINES = 500  # lines of each stream kept
MAX_CHARS = 64 * 1024  # characters of each stream kept (the newest line always is)
MAX_LINE_CHARS = 8 * 1024  # characters of one line kept (the page shows a tail, not data)
CUT_MARK = " [...]"


@dataclass(frozen=True)
class OutputLine:
    seq: int  # its number in the job's live output, from 1
    stream: Stream
    text: str


@dataclass(frozen=True)
class OutputBatch:
    """The lines after a reader's cursor; `cursor` is the number to ask from next time, and
    `skipped` how many lines after the old cursor were dropped from the tail unread."""

    lines: list[OutputLine]
    cursor: int
    skipped: int = 0


@dataclass
class _StreamTail:
    lines: deque[OutputLine] = field(default_factory=deque)
    chars: int = 0

    def add(self, line: OutputLine) -> None:
        self.lines.append(line)
        self.chars += len(line.text)
        while len(self.lines) > MAX_LINES or (self.chars > MAX_CHARS and len(self.lines) > 1):
            self.chars -= len(self.lines.popleft().text)


class OutputTail:
    """The live tail of one job's output (on the event loop: not thread-safe)."""

    def __init__(self) -> None:
        self._streams = {name: _StreamTail() for name in STREAMS}
        self._last = 0  # the number of the newest line
        self._event = asyncio.Event()
        self.closed = False

    @property
    def last(self) -> int:
        return self._last

    def add(self, stream: Stream, text: str) -> None:
        """A line the job wrote to `stream` (without its newline)."""
        if self.closed:
            return
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + CUT_MARK
        self._last += 1
        self._streams[stream].add(OutputLine(self._last, stream, text))
        self._wake()

    def close(self) -> None:
        """The run is over: drop the lines and wake the readers."""
        self.closed = True
        for tail in self._streams.values():
            tail.lines.clear()
            tail.chars = 0
        self._wake()

    def watch(self) -> asyncio.Event:
        """The event the next line (or the close) sets. Take it *before* reading."""
        return self._event

    def since(self, cursor: int, limit: int | None = None) -> OutputBatch:
        """The lines numbered after `cursor`, oldest first (at most `limit`, the oldest of
        them). A cursor beyond the newest line reads as nothing new yet: it comes from
        before a restart of the service, whose re-attached followers replay the output
        from its start and number it again from 1 (stdout and stderr interleaved perhaps a
        little differently), so the reader has about those lines already."""
        cursor = max(0, cursor)
        kept = [line for tail in self._streams.values() for line in tail.lines
                if line.seq > cursor]
        kept.sort(key=lambda line: line.seq)
        if limit is not None:
            kept = kept[:limit]
        if not kept:
            return OutputBatch([], cursor)
        newest = kept[-1].seq
        # Lines numbered between the cursor and the newest sent that are not here were
        # pushed out of the tail before this reader read them.
        skipped = newest - cursor - len(kept)
        return OutputBatch(kept, newest, skipped)

    def _wake(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()


class LiveOutput:
    """The tails of the running jobs, by job id."""

    def __init__(self) -> None:
        self._tails: dict[str, OutputTail] = {}

    def open(self, job_id: str) -> OutputTail:
        """A new tail for a run of `job_id` (a tail left over from before is closed)."""
        self.close(job_id)
        tail = self._tails[job_id] = OutputTail()
        return tail

    def close(self, job_id: str) -> None:
        tail = self._tails.pop(job_id, None)
        if tail is not None:
            tail.close()

    def get(self, job_id: str) -> OutputTail | None:
        return self._tails.get(job_id)

    def __len__(self) -> int:
        return len(self._tails)
