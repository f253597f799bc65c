"""The peak memory of another process (Linux): reset its high-water mark, do something to
it, read how far its resident set grew. Resetting needs the right to write
/proc/PID/clear_refs (the same user, or root)."""

from __future__ import annotations

from pathlib import Path

import pytest


def status_kib(pid: int, field: str) -> int:
    """A kB field of /proc/PID/status (VmRSS, VmHWM, ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"/proc/{pid}/status has no {field}")


class PeakMemory:
    """How far a process's resident set rose above where it stood at `reset()`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline_kib = 0

    def reset(self) -> None:
        """Make the high-water mark the current resident set size (writes 5 to clear_refs)."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError as exc:
            pytest.skip(f"cannot reset the peak memory of process {self.pid}: {exc}")
        self.baseline_kib = status_kib(self.pid, "VmRSS")

    def growth_mib(self) -> float:
        """MiB the peak rose above the resident set at reset()."""
        return (status_kib(self.pid, "VmHWM") - self.baseline_kib) / 1024
