"""Benchmark 2: job creation throughput with 8 concurrent clients, SQLite, on this machine.
The load comes from wrk (C, 8 connections) so that the client does not eat the service's
CPU; every request creates a PENDING hello job (303). Target: >= 500 jobs/s."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import build_examples, running_service

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = "app=hello&name=bench&delay=0"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
"""


def run(seconds: int = 10, connections: int = 8) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (make bench does it)")
    build_examples()
    with running_service() as (url, _), tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_SCRIPT)
        before = _count(url)
        output = subprocess.run(
            ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script),
             "--latency", f"{url}/jobs"], check=True, capture_output=True, text=True).stdout
        created = _count(url) - before
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency = re.search(r"50%\s+(\S+)", output)
    result = {
        "requests_per_s": rate, "jobs_created": created, "seconds": seconds,
        "jobs_per_s": created / seconds, "connections": connections,
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "median_latency": latency.group(1) if latency else None,
        "target": "jobs/s >= 500",
    }
    result["met"] = result["jobs_per_s"] >= 500 and result["errors"] == 0
    return result


def _count(url: str) -> int:
    return httpx.get(f"{url}/jobs", timeout=60).text.count("<uws:jobref ")


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
