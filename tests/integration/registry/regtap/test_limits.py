"""What one RegTAP query may cost, against the live RegTAP service over HTTP: recursive
queries refused, strings and rows bounded, slow queries stopped at the time limit (Python
functions included), results cut short by rows or bytes with the DALI overflow marker, and
queries beyond the concurrency cap answered 503 with Retry-After. (The same attacks against
an `innerspace serve` process, with its memory measured: ../test_hostile_queries.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from lxml import etree

from innerspace.config import RegistryLimits
from innerspace.registry.regtap import QueryResult, RegTAPIndex
from tests.support.regtap_live import VOTABLE_NS, LiveRegTAP, votable_status
from tests.support.regtap_queries import (
    RECURSIVE_DOUBLING,
    SELF_REFERENCING,
    cross_join,
    doubling,
    slow_match,
    wide_rows,
)
from tests.support.regtap_samples import sample_records

LIMITS = RegistryLimits(query_timeout=2, max_concurrent_queries=2, query_wait=0.2,
                        max_result_bytes=200_000)


@pytest.fixture(scope="module")
def limited() -> Iterator[LiveRegTAP]:
    index = RegTAPIndex(limits=LIMITS)
    index.load(sample_records())
    with LiveRegTAP(index) as service:
        yield service


@pytest.fixture
def tap(limited: LiveRegTAP) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=limited.url, timeout=120) as client:
        yield client


def sync(client: httpx.Client, query: str, **more: str) -> httpx.Response:
    return client.post("/sync", data={"LANG": "ADQL", "QUERY": query, **more})


def refused(response: httpx.Response) -> str:
    """The message of a 400 TAP error document."""
    assert response.status_code == 400, response.text[:500]
    status, message = votable_status(response)
    assert status == "ERROR"
    return message


def infos_after_table(response: httpx.Response) -> list[tuple[str, str | None]]:
    resource = etree.fromstring(response.content).find(f"{VOTABLE_NS}RESOURCE")
    assert resource is not None
    tags = [(etree.QName(e).localname, e.get("value")) for e in resource]
    return tags[[t for t, _ in tags].index("TABLE") + 1:]


def table_rows(response: httpx.Response) -> int:
    return len(etree.fromstring(response.content).findall(f".//{VOTABLE_NS}TR"))


def test_recursive_queries_are_refused(tap: httpx.Client) -> None:
    # The reported attack: a string doubled 60 times, in a recursive CTE.
    assert "WITH RECURSIVE is not supported" in refused(sync(tap, RECURSIVE_DOUBLING))
    # SQLite runs a CTE that names itself as recursive even without the keyword.
    assert "refers to itself" in refused(sync(tap, SELF_REFERENCING))


def test_strings_stop_growing_at_the_length_limit(tap: httpx.Client) -> None:
    # Concatenation through common table expressions, 22 levels: 4 MiB at the end.
    message = refused(sync(tap, doubling(22)))
    assert message == ("a string or row of the query grew longer than the limit of "
                       f"{LIMITS.max_string_length} bytes")
    assert "the limit of" in refused(sync(tap, "SELECT ivo_string_agg(a.description || "
                                               "b.description, ',') FROM tap_schema.columns "
                                               "AS a, tap_schema.columns AS b"))
    ok = sync(tap, doubling(10))  # 1 KiB is fine
    assert ok.status_code == 200 and b"a" * 1024 in ok.content
    too_wide = "SELECT " + ", ".join(f"ivoid AS c{i}" for i in range(65)) + \
        " FROM rr.resource"
    assert refused(sync(tap, too_wide)) == "the query has more than the limit of 64 columns"
    long_like = "SELECT ivoid FROM rr.resource WHERE res_title LIKE '%" + "a" * 300 + "%'"
    assert refused(sync(tap, long_like)) == \
        "a LIKE pattern is longer than the limit of 200 characters"


def test_slow_queries_stop_at_the_time_limit(tap: httpx.Client) -> None:
    for name, query in (("SQLite", cross_join(4)), ("a Python function", slow_match())):
        started = time.monotonic()
        message = refused(sync(tap, query))
        took = time.monotonic() - started
        print(f"{name}: stopped after {took:.2f} s (limit {LIMITS.query_timeout:g} s)")
        assert message == f"the query ran longer than the limit of {LIMITS.query_timeout:g} s"
        # Generous: the point is that it stops, not how fast this machine is.
        assert took < LIMITS.query_timeout + 5, name


def test_results_end_at_maxrec_or_the_byte_limit(tap: httpx.Client) -> None:
    by_rows = sync(tap, "SELECT ivoid FROM rr.resource", MAXREC="3")
    assert infos_after_table(by_rows) == [("INFO", "OVERFLOW")] and table_rows(by_rows) == 3
    # Rows of 8 KiB: the byte limit (200 000) ends the result long before MAXREC.
    big = sync(tap, wide_rows(columns=2, length=4096, rows=5000), MAXREC="100000")
    assert big.status_code == 200
    assert infos_after_table(big) == [("INFO", "OVERFLOW")]
    assert 0 < table_rows(big) <= LIMITS.max_result_bytes // 8192
    assert len(big.content) < 2 * LIMITS.max_result_bytes
    # CSV has no overflow marker: the result just ends.
    csv = sync(tap, wide_rows(columns=2, length=4096, rows=5000), MAXREC="100000",
               RESPONSEFORMAT="csv")
    assert csv.status_code == 200 and 0 < len(csv.text.splitlines()) - 1 < 5000
    whole = sync(tap, "SELECT ivoid FROM rr.resource")
    assert infos_after_table(whole) == [] and table_rows(whole) == 7


# -- the concurrency cap -----------------------------------------------------------------------

class HeldIndex(RegTAPIndex):
    """An index whose queries wait for the test's word before they run: the queries that
    hold the gate's turns, for as long as the test needs."""

    def __init__(self, limits: RegistryLimits) -> None:
        super().__init__(limits=limits)
        self.entered = threading.Semaphore(0)
        self.go = threading.Event()

    def query(self, adql: str, maxrec: int | None = None) -> QueryResult:
        self.entered.release()
        assert self.go.wait(120), "the test never let the query go"
        return super().query(adql, maxrec)


def held_service(wait: float) -> tuple[HeldIndex, LiveRegTAP]:
    index = HeldIndex(RegistryLimits(max_concurrent_queries=2, query_wait=wait))
    index.load(sample_records())
    return index, LiveRegTAP(index)


def start_queries(pool: ThreadPoolExecutor, url: str, count: int) -> list[Future[Any]]:
    def one() -> httpx.Response:
        return httpx.post(f"{url}/sync", data={"QUERY": "SELECT ivoid FROM rr.resource"},
                          timeout=120)

    return [pool.submit(one) for _ in range(count)]


def test_queries_beyond_the_cap_answer_503_with_retry_after() -> None:
    index, service = held_service(wait=0.2)
    with service, ThreadPoolExecutor(4) as pool:
        holders = start_queries(pool, service.url, 2)
        try:
            for _ in holders:  # both turns are taken, and stay taken until `go`
                assert index.entered.acquire(timeout=60)
            busy = httpx.post(f"{service.url}/sync", data={"QUERY": "SELECT 1 AS x"},
                              timeout=60)
            assert busy.status_code == 503
            assert busy.headers["retry-after"] == str(int(index.timeout))
            assert busy.headers["content-type"].startswith("application/x-votable+xml")
            status, message = votable_status(busy)
            assert status == "ERROR"
            assert message.startswith("the registry search is busy: 2 queries are running")
        finally:
            index.go.set()
        assert [f.result().status_code for f in holders] == [200, 200]
        assert index.gate.active == 0
        after = httpx.post(f"{service.url}/sync", data={"QUERY": "SELECT 1 AS x"}, timeout=60)
        assert after.status_code == 200


def test_a_query_waits_briefly_for_a_turn() -> None:
    index, service = held_service(wait=60)
    with service, ThreadPoolExecutor(4) as pool:
        holders = start_queries(pool, service.url, 2)
        try:
            for _ in holders:
                assert index.entered.acquire(timeout=60)
            [waiting] = start_queries(pool, service.url, 1)
            assert not index.entered.acquire(timeout=0.5), "a third query ran beside two"
        finally:
            index.go.set()
        assert waiting.result().status_code == 200
        assert [f.result().status_code for f in holders] == [200, 200]
