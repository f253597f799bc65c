"""Report the sandbox as seen from inside the container, as results/probe.json."""

import argparse
import ctypes
import json
import os
import resource
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from innerspace import runtime


def read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def status_field(name: str) -> str | None:
    for line in (read("/proc/self/status") or "").splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def can_write(path: str) -> bool:
    try:
        with open(os.path.join(path, ".probe"), "w") as handle:
            handle.write("x")
        os.unlink(os.path.join(path, ".probe"))
        return True
    except OSError:
        return False


def network() -> dict[str, Any]:
    interfaces = [line.split(":")[0].strip()
                  for line in (read("/proc/net/dev") or "").splitlines()[2:]]
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        outside = True
    except OSError:
        outside = False
    return {"interfaces": interfaces, "outside_reachable": outside}


def reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        return True
    except OSError:
        return False


def listen(port: int) -> None:
    """Accept connections on `port` (all interfaces) in the background."""
    server = socket.create_server(("0.0.0.0", port))

    def accept() -> None:
        while True:
            connection, _ = server.accept()
            connection.close()

    threading.Thread(target=accept, daemon=True).start()


def pid1() -> dict[str, str]:
    """What this process can see of PID 1 (on a cluster engine, the staging wrapper)."""
    seen: dict[str, str] = {}
    for name in ("environ", "cmdline", "mem"):
        try:
            with open(f"/proc/1/{name}", "rb") as handle:
                data = b"" if name == "mem" else handle.read(1 << 16)
            seen[name] = "opened: " + data.replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError as exc:
            seen[name] = f"denied: {exc.strerror}"
    libc = ctypes.CDLL(None, use_errno=True)
    if os.getpid() == 1:
        seen["ptrace"] = "self"
    elif libc.ptrace(16, 1, 0, 0) == 0:  # PTRACE_ATTACH
        libc.ptrace(17, 1, 0, 0)  # PTRACE_DETACH
        seen["ptrace"] = "attached"
    else:
        seen["ptrace"] = "denied: " + os.strerror(ctypes.get_errno())
    return seen


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sleep", type=float, default=0)
    parser.add_argument("--exit", type=int, default=0)
    args = parser.parse_args()
    params = runtime.params()
    if params.get("listen"):
        listen(int(params["listen"]))
    if params.get("allocate_mb"):
        hog = bytearray(int(params["allocate_mb"]) * 1024 * 1024)
        hog[::4096] = b"x" * len(hog[::4096])
    report = {
        "uid": os.getuid(), "gid": os.getgid(), "euid": os.geteuid(),
        "cap_eff": status_field("CapEff"), "cap_bnd": status_field("CapBnd"),
        "no_new_privs": status_field("NoNewPrivs"),
        "root_writable": can_write("/"), "app_writable": can_write("/app"),
        "tmp_writable": can_write("/tmp"), "inputs_writable": can_write("/innerspace/inputs"),
        "results_writable": can_write("/innerspace/results"),
        "memory_limit": read("/sys/fs/cgroup/memory/memory.limit_in_bytes")
        or read("/sys/fs/cgroup/memory.max"),
        "cpu_quota": read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") or read("/sys/fs/cgroup/cpu.max"),
        "cpu_period": read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
        "pids_max": read("/sys/fs/cgroup/pids/pids.max") or read("/sys/fs/cgroup/pids.max"),
        "network": network(),
        "connect": {a: reachable(a) for a in filter(None, params.get("connect", "").split(","))},
        "rlimits": {"fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
                    "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)},
        "pid1": pid1(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("INNERSPACE_")},
        "argv": sys.argv[1:],
        "params": params,
    }
    runtime.write_result("probe.json", json.dumps(report, indent=2))
    for index in range(int(params.get("fill_kib") or 0)):
        runtime.write_result(f"fill-{index}.bin", b"f" * 1024)
    print("probe written", flush=True)
    if args.sleep:
        time.sleep(args.sleep)
    print("probe finished", file=sys.stderr)
    return int(args.exit)


if __name__ == "__main__":
    sys.exit(main())
