"""The processes of one browser, found and ended by id: chromedriver, Chromium and its
helpers. Chromium's crash handler leaves the process tree and its renderers rewrite their
environment, so a process is ours when it carries the browser's marker in its environment,
descends from one that does, or was seen as ours before (by id and start time, since an id
is reused once its process has ended). Linux only (/proc)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

VARIABLE = "INNERSPACE_BROWSER_ID"


class ProcessGroup:
    """The processes started with `environment()`: `alive()` lists them, `end()` waits for
    them to exit and kills the rest."""

    def __init__(self) -> None:
        self.marker = uuid.uuid4().hex
        self._seen: dict[int, str] = {}  # pid -> start time

    def environment(self) -> dict[str, str]:
        """The variable to add to the environment of the first process."""
        return {VARIABLE: self.marker}

    def alive(self) -> set[int]:
        """The ids of the live processes of the group."""
        parents: dict[int, int] = {}
        started: dict[int, str] = {}
        marked: set[int] = set()
        needle = f"{VARIABLE}={self.marker}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                fields = _stat(pid)
                if needle in (entry / "environ").read_bytes():
                    marked.add(pid)
            except OSError:  # it ended meanwhile
                continue
            if fields[0] != "Z":  # a zombie has ended; only its parent's wait is missing
                parents[pid] = int(fields[1])
                started[pid] = fields[19]
        ours = marked & parents.keys()
        ours |= {pid for pid, start in self._seen.items() if started.get(pid) == start}
        while children := {pid for pid, parent in parents.items() if parent in ours} - ours:
            ours |= children
        self._seen.update((pid, started[pid]) for pid in ours)
        return ours

    def end(self, timeout: float) -> set[int]:
        """Wait up to `timeout` seconds for the group to exit, then kill what is left;
        returns the ids that had to be killed."""
        deadline = time.monotonic() + timeout
        while (left := self.alive()) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the exits: nothing here can wait on them
        killed: set[int] = set()
        for pid in left:
            if _started(pid) != self._seen.get(pid):
                continue  # it ended just now, and the id may already be another's
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        return killed


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, ppid, ..., starttime."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _started(pid: int) -> str | None:
    """When a live process started (clock ticks since boot); None when it has ended."""
    try:
        fields = _stat(pid)
    except OSError:
        return None
    return fields[19] if fields[0] != "Z" else None
