"""Report the sandbox as seen from inside the container, as results/probe.json."""

import argparse
import json
import os
import socket
import sys
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sleep", type=float, default=0)
    parser.add_argument("--exit", type=int, default=0)
    args = parser.parse_args()
    params = runtime.params()
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
        "env": {k: v for k, v in os.environ.items() if k.startswith("INNERSPACE_")},
        "argv": sys.argv[1:],
        "params": params,
    }
    runtime.write_result("probe.json", json.dumps(report, indent=2))
    print("probe written", flush=True)
    if args.sleep:
        time.sleep(args.sleep)
    print("probe finished", file=sys.stderr)
    return int(args.exit)


if __name__ == "__main__":
    sys.exit(main())
