"""Benchmark 12: the portal's server time, in-process (ASGI, no socket): the jobs page
/portal/jobs of an owner with 10,000 jobs stored (target < 100 ms median) and its 50th
page by the keyset cursor, and the home page /portal (target < 50 ms median), on SQLite,
with the portal's test catalogue (tests/support/portal.py, the fake engine: no Docker)."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from benchmarks.common import summary

TOKEN = "alice-token"
JOBS_TARGET = 0.100
HOME_TARGET = 0.050


def fill(store: Any, count: int) -> int:
    """`count` jobs of alice's, in several apps and phases; the seq of the oldest."""
    from innerspace.uws.phases import Phase
    from innerspace.uws.store import Job, JobParameter, _row, jobs, new_job_id

    now = time.time()
    phases = [Phase.COMPLETED, Phase.ERROR, Phase.PENDING, Phase.ABORTED]
    first = 1_000_000
    rows = [Job(id=new_job_id(), owner="alice", phase=phases[i % 4],
                app=("demo", "hello", "xmatch")[i % 3], app_version="1.0",
                image="sha256:" + "0" * 64, manifest={}, creation_time=now - count + i,
                execution_duration=600, destruction=now + 86400,
                parameters=(JobParameter("name", f"n{i}"),), seq=first + i)
            for i in range(count)]
    with store.engine.begin() as conn:
        conn.execute(jobs.insert(), [_row(job) for job in rows])
    return first


async def timed(app: Any, base: str, url: str, requests: int) -> tuple[dict[str, float], int, str]:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/html"}
    async with httpx.AsyncClient(transport=transport, base_url=base,
                                 headers=headers) as http:
        timings = []
        for _ in range(requests + 3):
            start = time.perf_counter()
            response = await http.get(url)
            timings.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text[:300]
    return summary(timings[3:]), len(response.content), response.text


def run(count: int = 10_000, requests: int = 30) -> dict[str, Any]:
    from tests.support.portal import PortalService

    with tempfile.TemporaryDirectory() as data_dir, PortalService(
            Path(data_dir), auth={"tokens": {TOKEN: "alice"}}) as portal:
        assert portal.harness is not None
        first = fill(portal.harness.store, count)
        jobs, jobs_bytes, page = asyncio.run(timed(portal.app, portal.url, "/portal/jobs",
                                                   requests))
        assert page.count('name="job"') == 50, "a page of 50 jobs"
        cursor = first + count - 50 * 49
        deep, _, page = asyncio.run(timed(portal.app, portal.url,
                                          f"/portal/jobs?before={cursor}", requests))
        assert page.count('name="job"') == 50
        filtered, _, _ = asyncio.run(timed(portal.app, portal.url,
                                           "/portal/jobs?phase=ERROR&app=hello", requests))
        home, home_bytes, _ = asyncio.run(timed(portal.app, portal.url, "/portal", requests))
    result = {
        "jobs": count, "jobs_page": jobs, "jobs_page_50": deep, "jobs_filtered": filtered,
        "jobs_page_bytes": jobs_bytes, "home": home, "home_bytes": home_bytes,
        "target": f"jobs median < {JOBS_TARGET} s, home median < {HOME_TARGET} s",
    }
    result["met"] = (max(jobs["median"], deep["median"], filtered["median"]) < JOBS_TARGET
                     and home["median"] < HOME_TARGET)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
