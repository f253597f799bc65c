"""UWS 1.1 conformance: WAIT blocks until the phase changes (whoever changes it), returns at
once when it cannot change, and times out."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.support.services import LiveService
from tests.support.uwsclient import (
    UWSClient,
    assert_see_other,
)

# -- WAIT (blocking) -----------------------------------------------------------------------

def test_wait_returns_promptly_after_phase_change(client: UWSClient) -> None:
    url = client.create(app="hello", delay="2", PHASE="RUN")
    assert client.wait_for(url, {"EXECUTING"}).phase == "EXECUTING"
    started = time.monotonic()
    doc = client.job(url, WAIT=30)
    elapsed = time.monotonic() - started
    assert doc.phase == "COMPLETED"
    assert 1.0 <= elapsed < 8, elapsed  # blocked for the run, not the full 30 s


def test_wait_is_woken_by_another_request(client: UWSClient,
                                          service: LiveService, xml_schemas: Any) -> None:
    url = client.create(app="hello")
    outcome: dict[str, Any] = {}

    def waiter() -> None:
        with UWSClient(service, xml_schemas) as other:
            begun = time.monotonic()
            outcome["doc"] = other.job(url, WAIT=30)
            outcome["elapsed"] = time.monotonic() - begun

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)  # let the waiter block first
    assert "doc" not in outcome
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "RUN"}), url)
    thread.join(35)
    assert outcome["doc"].phase in ("QUEUED", "EXECUTING", "COMPLETED")
    assert 0.2 <= outcome["elapsed"] < 5, outcome["elapsed"]
    client.wait_for(url)


def test_wait_on_final_phase_returns_at_once(client: UWSClient) -> None:
    url, doc = client.run(app="hello")
    assert doc.phase == "COMPLETED"
    started = time.monotonic()
    assert client.job(url, WAIT=30).phase == "COMPLETED"
    assert time.monotonic() - started < 1.5


def test_wait_with_other_phase_returns_at_once(client: UWSClient) -> None:
    url = client.create(app="hello")
    started = time.monotonic()
    assert client.job(url, WAIT=30, PHASE="EXECUTING").phase == "PENDING"
    assert time.monotonic() - started < 1.5


def test_wait_times_out_when_nothing_changes(client: UWSClient) -> None:
    url = client.create(app="hello")
    started = time.monotonic()
    assert client.job(url, WAIT=1).phase == "PENDING"
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3, elapsed
