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

# Seconds a WAIT may block: longer than any change here takes, shorter than the client's
# 60 s time-out. A WAIT that returns sooner was woken, not timed out.
BLOCK = 50

# -- WAIT (blocking) -----------------------------------------------------------------------

def test_wait_returns_when_the_phase_changes(client: UWSClient) -> None:
    """Each WAIT returns with another phase than the one it began in: woken by the change
    (a time-out would return the same phase), whichever phases the run passes through and
    however briefly; never a phase that must be caught in passing."""
    url = client.create(app="hello", delay="2", PHASE="RUN")
    seen = [client.phase(url)]
    while seen[-1] not in ("COMPLETED", "ERROR", "ABORTED"):
        seen.append(client.job(url, WAIT=BLOCK).phase)
        assert seen[-1] != seen[-2], f"WAIT={BLOCK} timed out in {seen[-2]}: {seen}"
    assert seen[-1] == "COMPLETED", seen


def test_wait_is_woken_by_another_request(client: UWSClient,
                                          service: LiveService, xml_schemas: Any) -> None:
    url = client.create(app="hello")
    outcome: dict[str, Any] = {}

    def waiter() -> None:
        with UWSClient(service, xml_schemas) as other:
            begun = time.monotonic()
            outcome["doc"] = other.job(url, WAIT=BLOCK)
            outcome["elapsed"] = time.monotonic() - begun

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)  # most likely the waiter blocks first (if not, it returns at once)
    assert "doc" not in outcome
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "RUN"}), url)
    thread.join(BLOCK + 10)
    # Woken by the change, not by the time-out (which would return PENDING after BLOCK s).
    assert outcome["doc"].phase in ("QUEUED", "EXECUTING", "COMPLETED")
    assert outcome["elapsed"] < BLOCK, outcome["elapsed"]
    client.wait_for(url)


def test_wait_on_final_phase_returns_at_once(client: UWSClient) -> None:
    url, doc = client.run(app="hello")
    assert doc.phase == "COMPLETED"
    started = time.monotonic()
    assert client.job(url, WAIT=BLOCK).phase == "COMPLETED"
    assert time.monotonic() - started < BLOCK / 2  # nothing can change: no blocking at all


def test_wait_with_other_phase_returns_at_once(client: UWSClient) -> None:
    url = client.create(app="hello")
    started = time.monotonic()
    assert client.job(url, WAIT=BLOCK, PHASE="EXECUTING").phase == "PENDING"
    assert time.monotonic() - started < BLOCK / 2


def test_wait_times_out_when_nothing_changes(client: UWSClient) -> None:
    url = client.create(app="hello")
    started = time.monotonic()
    assert client.job(url, WAIT=1).phase == "PENDING"
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 30, elapsed  # blocked for WAIT (the upper bound only in case)
