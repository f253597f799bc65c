"""The service's metrics: what each call records, the job gauges read when scraped, labels
kept few, and a registry per service."""

from __future__ import annotations

import time

import pytest
from prometheus_client import generate_latest

from innerspace.config import Settings
from innerspace.config.observability import Metrics
from innerspace.observability import ServiceMetrics


def sample(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_job_calls_record_counts_and_times() -> None:
    metrics = ServiceMetrics()
    metrics.job_created("hello")
    metrics.job_created("hello")
    metrics.job_started("hello", queued_at=100.0, started=103.5)
    metrics.job_started("hello", queued_at=None, started=103.5)  # never queued: no wait
    metrics.job_ended("hello", "COMPLETED", start_time=time.time() - 2)
    metrics.job_ended("hello", "ABORTED", start_time=None)  # aborted while queued
    metrics.engine_error("start")
    assert sample(metrics, "innerspace_jobs_created_total", app="hello") == 2
    assert sample(metrics, "innerspace_job_wait_seconds_count", app="hello") == 1
    assert sample(metrics, "innerspace_job_wait_seconds_sum", app="hello") == 3.5
    assert sample(metrics, "innerspace_job_run_seconds_count", app="hello") == 1
    assert 2 <= (sample(metrics, "innerspace_job_run_seconds_sum", app="hello") or 0) < 60
    assert sample(metrics, "innerspace_jobs_ended_total", app="hello", phase="COMPLETED") == 1
    assert sample(metrics, "innerspace_jobs_ended_total", app="hello", phase="ABORTED") == 1
    assert sample(metrics, "innerspace_engine_errors_total", operation="start") == 1


def test_jobs_by_phase_and_the_queue_are_read_at_each_scrape() -> None:
    metrics = ServiceMetrics()
    counts = {"QUEUED": 3, "COMPLETED": 7}
    queue = [3]
    metrics.watch_jobs(["PENDING", "QUEUED", "EXECUTING", "COMPLETED"], lambda: counts,
                       lambda: queue[0])
    metrics.watch_jobs(["PENDING"], dict, int)  # a second call changes nothing
    assert sample(metrics, "innerspace_jobs", phase="QUEUED") == 3
    assert sample(metrics, "innerspace_jobs", phase="PENDING") == 0, "every phase is reported"
    assert sample(metrics, "innerspace_queue_length") == 3
    counts["QUEUED"], queue[0] = 1, 1
    assert sample(metrics, "innerspace_jobs", phase="QUEUED") == 1
    assert sample(metrics, "innerspace_queue_length") == 1


def test_a_store_that_cannot_be_read_costs_the_job_gauges_only() -> None:
    metrics = ServiceMetrics()

    def broken() -> dict[str, int]:
        raise RuntimeError("database is away")

    metrics.watch_jobs(["QUEUED"], broken, lambda: 0)
    metrics.job_created("hello")
    text = generate_latest(metrics.registry).decode()
    assert "innerspace_jobs_created_total" in text
    assert "innerspace_jobs{" not in text and "innerspace_queue_length" not in text


def test_harvests_by_endpoint() -> None:
    metrics = ServiceMetrics()
    metrics.expect_harvests(["http://a/oai", "http://b/oai"])
    assert sample(metrics, "innerspace_harvest_failures_total", endpoint="http://b/oai") == 0
    assert sample(metrics, "innerspace_harvest_last_success_timestamp_seconds",
                  endpoint="http://a/oai") == 0
    before = time.time()
    metrics.harvested("http://a/oai", ok=True)
    metrics.harvested("http://b/oai", ok=False)
    assert (sample(metrics, "innerspace_harvest_last_success_timestamp_seconds",
                   endpoint="http://a/oai") or 0) >= before
    assert sample(metrics, "innerspace_harvest_failures_total", endpoint="http://b/oai") == 1


def test_http_methods_are_a_fixed_list() -> None:
    metrics = ServiceMetrics()
    metrics.http_request("GET", "/jobs", 200, 0.01)
    metrics.http_request("BREW", "unmatched", 405, 0.001)
    assert sample(metrics, "innerspace_http_requests_total", method="GET", route="/jobs",
                  status="200") == 1
    assert sample(metrics, "innerspace_http_requests_total", method="OTHER",
                  route="unmatched", status="405") == 1
    assert sample(metrics, "innerspace_http_request_duration_seconds_count", method="GET",
                  route="/jobs") == 1


def test_each_service_has_a_registry_of_its_own() -> None:
    first, second = ServiceMetrics(), ServiceMetrics()  # the same names: no clash
    first.job_created("hello")
    assert sample(first, "innerspace_jobs_created_total", app="hello") == 1
    assert sample(second, "innerspace_jobs_created_total", app="hello") is None


def test_the_metrics_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Metrics().enabled and Metrics().allow_from == ["127.0.0.0/8", "::1/128"]
    monkeypatch.setenv("INNERSPACE_METRICS__ALLOW_FROM", "10.0.0.0/8, 192.0.2.7")
    monkeypatch.setenv("INNERSPACE_METRICS__GROUPS", '["monitoring"]')
    monkeypatch.setenv("INNERSPACE_LOGGING__FORMAT", "json")
    settings = Settings()
    assert settings.metrics.allow_from == ["10.0.0.0/8", "192.0.2.7"]
    assert settings.metrics.groups == ["monitoring"] and settings.logging.format == "json"
    with pytest.raises(ValueError, match=r"metrics\.allow_from entry 'intranet'"):
        Metrics(allow_from=["intranet"])
