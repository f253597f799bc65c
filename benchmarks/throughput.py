"""Benchmark 3: 200 trivial hello jobs, 4 at a time, through innerspace, against the engine's
own throughput for the same containers started directly (Docker API, 4 threads), measured
one after the other in one run. Target: innerspace >= 0.9 x direct."""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import httpx

from benchmarks.common import build_examples, running_service

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"


def through_innerspace(jobs: int, parallel: int) -> float:
    with running_service(limits__max_running_jobs=str(parallel)) as (url, _), \
            httpx.Client(base_url=url, timeout=120) as http:
        start = time.perf_counter()
        urls = [http.post("/jobs", data={"app": "hello", "PHASE": "RUN"}).headers["location"]
                for _ in range(jobs)]
        for job_url in urls:
            phase = ""
            while phase not in ("COMPLETED", "ERROR"):
                body = http.get(job_url, params={"WAIT": 60}).text
                phase = body.split("<uws:phase>")[1].split("<")[0]
            assert phase == "COMPLETED", job_url
        return jobs / (time.perf_counter() - start)


def direct(image: str, jobs: int, parallel: int) -> float:
    api = docker.from_env().api
    work = Path(tempfile.mkdtemp(prefix="innerspace-direct-"))
    params = work / "params.json"
    params.write_text(json.dumps({"name": "World", "delay": 0}))

    def one(index: int) -> None:
        results = work / f"r{index}"
        results.mkdir()
        results.chmod(0o777)
        host = api.create_host_config(binds={
            str(params): {"bind": "/innerspace/params.json", "mode": "ro"},
            str(results): {"bind": "/innerspace/results", "mode": "rw"}},
            read_only=True, tmpfs={"/tmp": "size=64m"}, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], network_mode="none")
        container = api.create_container(image, command=["python3", "-m", "hello"],
                                         user="10001:10001", host_config=host)
        api.start(container["Id"])
        status = api.wait(container["Id"])["StatusCode"]
        api.remove_container(container["Id"], force=True)
        assert status == 0 and (results / "greeting.txt").is_file()

    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, range(jobs)))
    return jobs / (time.perf_counter() - start)


def run(jobs: int = 200, parallel: int = 4) -> dict[str, Any]:
    image = build_examples()["hello"]
    direct(image, 8, parallel)  # warm-up
    engine_rate = direct(image, jobs, parallel)
    service_rate = through_innerspace(jobs, parallel)
    ratio = service_rate / engine_rate
    return {"jobs": jobs, "parallel": parallel, "direct_jobs_per_s": engine_rate,
            "innerspace_jobs_per_s": service_rate, "ratio": ratio,
            "target": "ratio >= 0.9", "met": ratio >= 0.9}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
