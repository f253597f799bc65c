"""Benchmark 8: planning over 20 data centres in one registry (target < 2 s), the quote
requests made in parallel.

Twenty `innerspace serve` processes, each a data centre of its own with its own authority and
data collection, on this machine; a twenty-first harvests them all and is the federation's
registry. `Federation.plan()` is then timed: the RegTAP queries through pyvo, the requirement
checks, and the twenty UWS quotes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import build_examples, free_port, summary, wait_until_up

CENTRES = 20


def start(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, **env, "INNERSPACE_PUBLIC_URL": url}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "innerspace"), "serve", "--data-dir",
         str(data_dir), "--port", str(port), "--log-level", "warning"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, url


def run(rounds: int = 10) -> dict[str, Any]:
    from innerspace.client.federation import Federation

    build_examples()
    root = Path(tempfile.mkdtemp(prefix="innerspace-bench-planning-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        urls = []
        for index in range(CENTRES):
            centre = {"authority": f"ivo://dc{index:02d}.example", "name": f"Centre {index}",
                      "inner_apis": [{"name": "images", "kind": "posix-collection",
                                      "path": f"/srv/dc{index}",
                                      "collections": [f"survey-{index:02d}"]}]}
            process, url = start(root / f"dc{index}",
                                 {"INNERSPACE_DATACENTRE": json.dumps(centre)})
            processes.append(process)
            urls.append(url)
        for url, process in zip(urls, processes, strict=True):
            wait_until_up(f"{url}/availability", process)
        registry_process, registry = start(root / "registry", {
            "INNERSPACE_DATACENTRE": json.dumps({"authority": "ivo://federation.example"}),
            "INNERSPACE_HARVEST": json.dumps([f"{u}/registry/oai" for u in urls])})
        processes.append(registry_process)
        wait_until_up(f"{registry}/availability", registry_process)
        harvest = httpx.post(f"{registry}/registry/harvest", timeout=300).json()
        assert all(isinstance(n, int) for n in harvest.values()), harvest
        federation = Federation(registry)
        timings, last = [], None
        for _ in range(rounds):
            start_time = time.perf_counter()
            last = federation.plan("hello", name="bench")
            timings.append(time.perf_counter() - start_time)
            last.discard()
        assert last is not None and len(last.ranked) == CENTRES + 1, [
            (c.authority, c.reason) for c in last.candidates]
        chosen = federation.plan("hello", collection="survey-07")
        assert [c.authority for c in chosen.ranked] == ["ivo://dc07.example"]
        chosen.discard()
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(root, ignore_errors=True)
    result = {"data_centres": CENTRES + 1, "plan_s": summary(timings),
              "target": "plan over 20 data centres < 2 s"}
    result["met"] = result["plan_s"]["median"] < 2.0
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
