"""Benchmark 4: GET /jobs with 10,000 jobs stored (SQLite), median of 30 requests.
Target: < 100 ms."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from benchmarks.common import build_examples, running_service, summary


def fill(data_dir: Any, count: int) -> None:
    from innerspace.uws.phases import Phase
    from innerspace.uws.store import Job, JobParameter, JobStore, new_job_id

    store = JobStore.open(f"sqlite:///{data_dir / 'innerspace.db'}")
    now = time.time()
    phases = [Phase.COMPLETED, Phase.ERROR, Phase.PENDING, Phase.ABORTED]
    rows = [Job(id=new_job_id(), owner=None, phase=phases[i % 4], app="hello",
                app_version="1.0.0", image="sha256:" + "0" * 64, manifest={},
                creation_time=now - count + i, execution_duration=600,
                destruction=now + 86400, parameters=(JobParameter("name", f"n{i}"),),
                seq=i + 1)
            for i in range(count)]
    from innerspace.uws.store import _row, jobs

    with store.engine.begin() as conn:
        conn.execute(jobs.insert(), [_row(job) for job in rows])
    store.close()


def run(count: int = 10_000, requests: int = 30) -> dict[str, Any]:
    build_examples()
    with running_service() as (url, data_dir), httpx.Client(base_url=url, timeout=60) as http:
        fill(data_dir, count)
        assert http.get("/jobs").text.count("<uws:jobref ") == count
        timings = []
        for _ in range(requests):
            start = time.perf_counter()
            response = http.get("/jobs")
            response.read()
            timings.append(time.perf_counter() - start)
        assert response.status_code == 200
        size = len(response.content)
    result = {"jobs": count, "seconds": summary(timings), "bytes": size,
              "target": "median < 0.100 s"}
    result["met"] = result["seconds"]["median"] < 0.100
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
