"""The metrics of a service running real jobs on the Docker engine: a hello job counted from
its creation to its end (wait and run times by app, jobs by phase, the queue), the requests
that ran it by route template, and /metrics open to a direct scraper on loopback only."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.services import LiveService


def scrape(service: LiveService, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                          float]:
    answer = httpx.get(f"{service.url}/metrics", headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples}


def run_hello(service: LiveService) -> str:
    with service.client() as http:
        created = http.post("/jobs", data={"app": "hello", "name": "Metrics", "PHASE": "RUN"})
        assert created.status_code == 303
        url = created.headers["location"]
        for _ in range(20):  # each WAIT returns at the next phase change
            phase = http.get(f"{url}/phase").text.strip()
            if phase not in ("QUEUED", "EXECUTING"):
                break
            http.get(url, params={"WAIT": 30})
        assert phase == "COMPLETED"
        return url


def test_a_job_and_its_requests_are_counted(make_service: Callable[..., LiveService]) -> None:
    service = make_service()
    before = scrape(service)
    assert before[("innerspace_jobs", (("phase", "COMPLETED"),))] == 0
    run_hello(service)
    after = scrape(service)
    hello = (("app", "hello"),)
    assert after[("innerspace_jobs_created_total", hello)] == 1
    assert after[("innerspace_jobs_ended_total", (("app", "hello"), ("phase", "COMPLETED")))] == 1
    assert after[("innerspace_job_wait_seconds_count", hello)] == 1
    assert after[("innerspace_job_run_seconds_count", hello)] == 1
    assert after[("innerspace_job_run_seconds_sum", hello)] > 0
    assert after[("innerspace_jobs", (("phase", "COMPLETED"),))] == 1
    assert after[("innerspace_jobs", (("phase", "EXECUTING"),))] == 0
    assert after[("innerspace_queue_length", ())] == 0
    created = (("method", "POST"), ("route", "/jobs"), ("status", "303"))
    assert after[("innerspace_http_requests_total", created)] == 1
    phases = (("method", "GET"), ("route", "/jobs/{job_id}/phase"), ("status", "200"))
    assert after[("innerspace_http_requests_total", phases)] >= 1
    assert not any(name == "innerspace_http_requests_total" and "/jobs/" in dict(labels)[
        "route"] and "{" not in dict(labels)["route"] for name, labels in after), \
        "no raw job URL is a label"


def test_metrics_through_a_proxy_need_credentials(
        make_service: Callable[..., LiveService]) -> None:
    service = make_service(auth={"tokens": {"ops-token": {"owner": "ops",
                                                          "groups": ["operators"]},
                                            "user-token": "alice"},
                                 "admin_groups": ["operators"]})
    assert scrape(service)[("innerspace_jobs", (("phase", "QUEUED"),))] == 0
    proxied = {"X-Forwarded-For": "198.51.100.7"}
    assert httpx.get(f"{service.url}/metrics", headers=proxied).status_code == 401
    user = httpx.get(f"{service.url}/metrics",
                     headers={**proxied, "Authorization": "Bearer user-token"})
    assert user.status_code == 403
    assert scrape(service, **proxied, Authorization="Bearer ops-token")


def test_harvests_by_endpoint(make_service: Callable[..., LiveService]) -> None:
    peer = make_service()
    dead = "http://127.0.0.1:9/registry/oai"  # nothing listens on the discard port
    good = f"{peer.url}/registry/oai"
    service = make_service(harvest=[good, dead])
    answer = httpx.post(f"{service.url}/registry/harvest", timeout=120)
    assert answer.status_code == 200, answer.text
    samples = scrape(service)
    assert samples[("innerspace_harvest_last_success_timestamp_seconds",
                    (("endpoint", good),))] > 0
    assert samples[("innerspace_harvest_failures_total", (("endpoint", good),))] == 0
    assert samples[("innerspace_harvest_failures_total", (("endpoint", dead),))] >= 1
    assert samples[("innerspace_harvest_last_success_timestamp_seconds",
                    (("endpoint", dead),))] == 0
