"""Benchmark 13: what the portal's main pages weigh in a browser (target: < 300 KB each,
images left out).

A real `innerspace serve` with the hello app and one finished hello job (so that a job page
exists), visited by headless Chromium (tests/support/browser.py, Debian's chromium and
chromedriver); each page is opened with the HTTP cache emptied, and the Resource Timing API
gives the bytes of its document and of every resource it loaded (stylesheets, scripts),
images left out: `transferSize` (headers and bodies as sent over the network) and
`encodedBodySize` (bodies alone). Sizes, not times: the same on any machine.
tests/integration/portal/test_browser_jobs.py checks the same bound on every run."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from tests.support.browser import Browser
from tests.support.browsing import MAIN_PAGES, WEIGHT_TARGET, weight_without_images

from benchmarks.common import build_examples, running_service

TARGET_KB = WEIGHT_TARGET / 1024


def finished_job(url: str) -> str:
    """A hello job run to its end; its portal page's path."""
    with httpx.Client(base_url=url, timeout=120) as http:
        created = http.post("/jobs", data={"app": "hello", "name": "weight", "PHASE": "RUN"})
        job_url = created.headers["location"]
        phase = "QUEUED"
        while phase not in ("COMPLETED", "ERROR", "ABORTED"):
            phase = http.get(job_url, params={"WAIT": 30}).text.split(
                "<uws:phase>")[1].split("<")[0]
    return f"/portal/jobs/{job_url.rstrip('/').rsplit('/', 1)[1]}"


def run() -> dict[str, Any]:
    build_examples()
    with running_service() as (url, _), tempfile.TemporaryDirectory() as work:
        pages = (*MAIN_PAGES, finished_job(url))
        with Browser(Path(work), base_url=url) as browser:
            weights = {path: weight_without_images(browser, path) for path in pages}
    rows = {path: {"transferred_kb": round(sent / 1024, 1), "bodies_kb": round(body / 1024, 1)}
            for path, (sent, body) in weights.items()}
    heaviest = max(rows.values(), key=lambda row: row["transferred_kb"])["transferred_kb"]
    return {"target_kb": TARGET_KB, "pages": rows, "heaviest_kb": heaviest,
            "met": heaviest < TARGET_KB}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
