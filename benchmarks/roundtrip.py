"""Benchmark 1: round trip of a trivial hello job through innerspace (create with PHASE=RUN,
follow with UWS WAIT, fetch the result) against a bare `docker run --rm` of the same image
doing the same work, alternated in one run. Target: median ratio <= 1.10."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import build_examples, running_service, summary

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"


def innerspace_round_trip(http: httpx.Client) -> float:
    start = time.perf_counter()
    created = http.post("/jobs", data={"app": "hello", "name": "bench", "PHASE": "RUN"})
    job_url = created.headers["location"]
    phase = "QUEUED"
    while phase not in ("COMPLETED", "ERROR"):
        response = http.get(job_url, params={"WAIT": 30})
        phase = response.text.split("<uws:phase>")[1].split("<")[0]
    greeting = http.get(f"{job_url}/results/greeting.txt").text
    elapsed = time.perf_counter() - start
    assert phase == "COMPLETED" and greeting == "Hello, bench!\n", (phase, greeting)
    return elapsed


def docker_round_trip(image: str, work: Path) -> float:
    params = work / "params.json"
    results = work / "results"
    results.mkdir(exist_ok=True)
    results.chmod(0o777)
    params.write_text(json.dumps({"name": "bench", "delay": 0}))
    start = time.perf_counter()
    subprocess.run(
        ["docker", "run", "--rm", "-v", f"{params}:/innerspace/params.json:ro",
         "-v", f"{results}:/innerspace/results", image, "python3", "-m", "hello"],
        check=True, capture_output=True)
    greeting = (results / "greeting.txt").read_text()
    elapsed = time.perf_counter() - start
    assert greeting == "Hello, bench!\n"
    (results / "greeting.txt").unlink()
    return elapsed


def run(rounds: int = 30) -> dict[str, Any]:
    image = build_examples()["hello"]
    ours: list[float] = []
    bare: list[float] = []
    with running_service() as (url, _), httpx.Client(base_url=url, timeout=60) as http, \
            tempfile.TemporaryDirectory() as tmp:
        innerspace_round_trip(http)  # warm-up: catalogue, page cache
        docker_round_trip(image, Path(tmp))
        for _ in range(rounds):
            ours.append(innerspace_round_trip(http))
            bare.append(docker_round_trip(image, Path(tmp)))
    result = {"innerspace_s": summary(ours), "docker_run_s": summary(bare)}
    result["median_ratio"] = result["innerspace_s"]["median"] / result["docker_run_s"]["median"]
    result["target"] = "median ratio <= 1.10"
    result["met"] = result["median_ratio"] <= 1.10
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
