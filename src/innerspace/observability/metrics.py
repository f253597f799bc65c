"""The service's Prometheus metrics, in a registry of its own (several services in one
process, as in the tests, never share or clash): jobs by phase and the queue (read from the
job store and the runner when scraped), job creations, waits and run times by app, job ends
by app and phase, engine errors by operation, harvests by endpoint, HTTP requests by route
template and status (observability/requests.py records those).

Every label has few values: apps come from the catalogue, endpoints from the configuration,
routes are the app's route templates (never raw paths), methods and operations are fixed
lists. Recording is cheap and never fails a request or a job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# Seconds: a job waits and runs for seconds to a day; a request takes milliseconds to a
# blocking WAIT of up to ten minutes.
JOB_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of a request no route matched


class JobStateCollector(Collector):
    """Jobs by phase and the length of the queue, read when scraped: one grouped count
    of the job table (its phase is indexed) and one look at the runner."""

    def __init__(self, phases: Iterable[str], counts: Callable[[], Mapping[str, int]],
                 queued: Callable[[], int]) -> None:
        self._phases = list(phases)
        self._counts = counts
        self._queued = queued

    def collect(self) -> Iterator[Metric]:
        try:
            counts = {phase: 0 for phase in self._phases} | dict(self._counts())
            queued = self._queued()
        except Exception as exc:  # a scrape while the database is away: say so, fail nothing
            log.warning("metrics: cannot count jobs: %s", exc)
            return
        jobs = GaugeMetricFamily("innerspace_jobs", "Jobs in the store by UWS phase.",
                                 labels=["phase"])
        for phase, count in sorted(counts.items()):
            jobs.add_metric([phase], count)
        yield jobs
        yield GaugeMetricFamily("innerspace_queue_length",
                                "Jobs queued, waiting for a slot on the engine.",
                                value=queued)


class ServiceMetrics:
    """Every metric of one service, and the calls that record them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.created = Counter("innerspace_jobs_created", "Jobs created, by app.",
                               ["app"], registry=r)
        self.wait = Histogram("innerspace_job_wait_seconds",
                              "Time from QUEUED to EXECUTING, by app.", ["app"],
                              buckets=JOB_BUCKETS, registry=r)
        self.run = Histogram("innerspace_job_run_seconds",
                             "Time from EXECUTING to the job's end, by app.", ["app"],
                             buckets=JOB_BUCKETS, registry=r)
        self.ended = Counter("innerspace_jobs_ended", "Jobs that ended, by app and phase.",
                             ["app", "phase"], registry=r)
        self.engine_errors = Counter(
            "innerspace_engine_errors",
            "Failures of the compute engine, by operation (start, supervise, stop, "
            "remove, logs).", ["operation"], registry=r)
        self.harvest_success = Gauge(
            "innerspace_harvest_last_success_timestamp_seconds",
            "When the last harvest of an OAI-PMH endpoint succeeded (Unix time; 0: never).",
            ["endpoint"], registry=r)
        self.harvest_failures = Counter("innerspace_harvest_failures",
                                        "Failed harvests, by OAI-PMH endpoint.",
                                        ["endpoint"], registry=r)
        self.requests = Counter("innerspace_http_requests",
                                "HTTP requests answered, by method, route template and status.",
                                ["method", "route", "status"], registry=r)
        self.durations = Histogram("innerspace_http_request_duration_seconds",
                                   "Time to answer an HTTP request (its body sent), by method "
                                   "and route template.", ["method", "route"],
                                   buckets=HTTP_BUCKETS, registry=r)
        self._jobs_watched = False

    # -- wiring ------------------------------------------------------------------------

    def watch_jobs(self, phases: Iterable[str], counts: Callable[[], Mapping[str, int]],
                   queued: Callable[[], int]) -> None:
        """Report jobs by phase (every one of `phases`, 0 when none) and the queue length,
        from `counts` and `queued` at each scrape. Once per service."""
        if not self._jobs_watched:
            self.registry.register(JobStateCollector(phases, counts, queued))
            self._jobs_watched = True

    def expect_harvests(self, endpoints: Iterable[str]) -> None:
        """The configured endpoints: their series exist (0) before their first harvest."""
        for endpoint in endpoints:
            self.harvest_success.labels(endpoint)
            self.harvest_failures.labels(endpoint)

    # -- recording -----------------------------------------------------------------------

    def job_created(self, app: str) -> None:
        self.created.labels(app).inc()

    def job_started(self, app: str, queued_at: float | None, started: float) -> None:
        """A job is EXECUTING at `started`, having been queued at `queued_at`."""
        if queued_at is not None:
            self.wait.labels(app).observe(max(0.0, started - queued_at))

    def job_ended(self, app: str, phase: str, start_time: float | None) -> None:
        """A job ended in `phase`; `start_time` is when it began EXECUTING (None: never)."""
        self.ended.labels(app, phase).inc()
        if start_time is not None:
            self.run.labels(app).observe(max(0.0, time.time() - start_time))

    def engine_error(self, operation: str) -> None:
        self.engine_errors.labels(operation).inc()

    def harvested(self, endpoint: str, ok: bool) -> None:
        """A harvest of `endpoint` succeeded (`ok`) or failed."""
        if ok:
            self.harvest_success.labels(endpoint).set(time.time())
        else:
            self.harvest_failures.labels(endpoint).inc()

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.durations.labels(method, route).observe(seconds)


# A service built without metrics wiring (unit tests of the runner, a harness) records into
# a registry nobody reads.
def unwired() -> ServiceMetrics:
    return ServiceMetrics()
