"""The lock by which `innerspace swarm clean` tells a running service from a stopped one:
held while a service runs, free once its process has ended however it ended."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from innerspace.engines.base import EngineError
from innerspace.engines.swarm.cleanup import ServiceLock

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_held_lock_is_not_free_and_cannot_be_taken(tmp_path: Path) -> None:
    path = tmp_path / "data" / "swarm.lock"
    assert ServiceLock.is_free(path)  # no file: no service
    lock = ServiceLock(path)
    lock.take()
    assert not ServiceLock.is_free(path)
    with ServiceLock(path).held_if_free() as free:
        assert not free
    with pytest.raises(EngineError, match="cannot share one data directory"):
        ServiceLock(path).take(timeout=0.5)
    lock.release()
    assert ServiceLock.is_free(path)
    with ServiceLock(path).held_if_free() as free:
        assert free
        assert not ServiceLock.is_free(path)  # held for the block
    assert ServiceLock.is_free(path)


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    path = tmp_path / "swarm.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert not ServiceLock.is_free(path)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    deadline = time.monotonic() + 30
    while not ServiceLock.is_free(path):  # the kernel drops it with the process
        assert time.monotonic() < deadline, "the lock outlived its holder"
        time.sleep(0.1)


def test_a_gone_data_directory_counts_as_free_and_is_not_made(tmp_path: Path) -> None:
    path = tmp_path / "gone" / "swarm.lock"
    with ServiceLock(path).held_if_free() as free:
        assert free
    assert not path.parent.exists()
