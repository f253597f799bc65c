"""Hostile RegTAP queries against an `innerspace serve` process with its default limits,
its peak memory measured around each (Linux: /proc/PID/clear_refs resets the high-water
mark, VmHWM reads it): no query grows the service by more than 64 MiB, none runs more than
a little past the time limit, and the query workers stay within their own memory limit.
The figures are printed (pytest -s) for the record; the assertions have generous margins,
so that a loaded machine cannot make them fail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from innerspace.config import RegistryLimits
from tests.support.process_memory import PeakMemory, status_kib
from tests.support.regtap_live import VOTABLE_NS, votable_status
from tests.support.regtap_queries import (
    RECURSIVE_DOUBLING,
    SELF_REFERENCING,
    big_sort,
    cross_join,
    doubled_columns,
    doubling,
    slow_match,
    text_rows,
    wide_rows,
)
from tests.support.services import ProcessService

MAX_GROWTH_MIB = 64
DEFAULTS = RegistryLimits()


@dataclass
class Measured:
    response: httpx.Response
    growth_mib: float
    seconds: float

    @property
    def message(self) -> str:
        return votable_status(self.response)[1]

    @property
    def overflowed(self) -> bool:
        resource = etree.fromstring(self.response.content).find(f"{VOTABLE_NS}RESOURCE")
        assert resource is not None
        return resource[-1].get("value") == "OVERFLOW"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, docker_client: Any
            ) -> Iterator[ProcessService]:
    process = ProcessService(tmp_path_factory.mktemp("hostile-queries")).start()
    with process.client() as http:  # the code paths once, so that imports do not count
        for fmt in ("votable", "votable/b2", "csv"):
            warm = http.post("/registry/tap/sync", data={
                "QUERY": "SELECT TOP 2000 * FROM tap_schema.columns AS a, tap_schema.keys",
                "RESPONSEFORMAT": fmt})
            assert warm.status_code == 200, warm.text
    yield process
    process.stop()


def workers(service: ProcessService) -> list[int]:
    """The process ids of the service's query workers (its children)."""
    return [int(pid) for task in Path(f"/proc/{service.pid}/task").iterdir()
            for pid in (task / "children").read_text().split()]


def attack(service: ProcessService, name: str, query: str, **params: str) -> Measured:
    peak = PeakMemory(service.pid)
    peak.reset()
    started = time.monotonic()
    with service.client() as http:
        response = http.post("/registry/tap/sync", data={"QUERY": query, **params},
                             timeout=300)
    measured = Measured(response, peak.growth_mib(), time.monotonic() - started)
    worker_peaks = [status_kib(pid, "VmHWM") // 1024 for pid in workers(service)]
    print(f"{name}: HTTP {response.status_code}, {len(response.content)} bytes, "
          f"{measured.seconds:.2f} s, service peak +{measured.growth_mib:.1f} MiB, "
          f"workers' peaks {worker_peaks} MiB")
    assert measured.growth_mib < MAX_GROWTH_MIB, name
    assert all(mib < DEFAULTS.query_process_memory // 1024**2 for mib in worker_peaks), name
    return measured


def test_growing_strings_are_refused(service: ProcessService) -> None:
    recursive = attack(service, "recursive doubling (the report)", RECURSIVE_DOUBLING)
    assert recursive.response.status_code == 400
    assert "WITH RECURSIVE is not supported" in recursive.message
    assert attack(service, "self-referencing CTE", SELF_REFERENCING).response.status_code == 400
    # Non-recursive: 22 levels of common table expressions (2.5 GB before the fix).
    chain = attack(service, "doubling through 22 CTEs", doubling(22))
    assert chain.response.status_code == 400
    assert chain.message == ("a string or row of the query grew longer than the limit of "
                             f"{DEFAULTS.max_string_length} bytes")


@pytest.mark.parametrize(("name", "query"), [
    ("64 columns x 256 KiB", doubled_columns(64)),
    ("2 columns x 128 KiB, many rows", wide_rows(2, 128 * 1024, 20000)),
    ("non-ASCII text", text_rows("é€")),
    ("text beyond the BMP", text_rows("\U0001d11e")),
])
@pytest.mark.parametrize("fmt", ["votable", "votable/b2"])
def test_large_results_are_cut_short(service: ProcessService, name: str, query: str,
                                     fmt: str) -> None:
    large = attack(service, f"{name} ({fmt})", query, MAXREC="20000", RESPONSEFORMAT=fmt)
    assert large.response.status_code == 200 and large.overflowed
    assert len(large.response.content) < 2 * DEFAULTS.max_result_bytes


@pytest.mark.parametrize("fmt", ["votable", "votable/b2", "csv"])
def test_many_small_values_are_cut_short(service: ProcessService, fmt: str) -> None:
    many = attack(service, f"200000 rows of small values asked ({fmt})",
                  "SELECT a.column_index AS i, b.column_index AS j, c.std AS k "
                  "FROM tap_schema.columns AS a, tap_schema.columns AS b, "
                  "tap_schema.columns AS c", MAXREC="200000", RESPONSEFORMAT=fmt)
    assert many.response.status_code == 200
    if fmt != "csv":  # CSV has no overflow marker
        assert many.overflowed
    assert 0 < many.response.text.count("\n") < 200_000


def test_big_sorts_stay_in_their_worker(service: ProcessService) -> None:
    sort = attack(service, "sorting 20000 strings of 128 KiB", big_sort())
    assert sort.response.status_code == 400
    assert sort.message == ("the query's temporary files grew past the limit of "
                            f"{DEFAULTS.query_temp_size} bytes (or the disk is full)")


def test_slow_queries_end_near_the_time_limit(service: ProcessService) -> None:
    limit = DEFAULTS.query_timeout
    for name, query in (("cross join in SQLite", cross_join(5)),
                        ("ivo_nocasematch over 128 KiB", slow_match())):
        slow = attack(service, name, query)
        assert slow.response.status_code == 400
        assert slow.message == f"the query ran longer than the limit of {limit:g} s"
        print(f"  {slow.seconds - limit:+.2f} s past the limit")
        assert slow.seconds < limit + 5, name
