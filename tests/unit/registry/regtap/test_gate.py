"""The RegTAP query gate: so many turns at once, a short wait for one, then SearchBusy (503
with Retry-After; over HTTP: tests/integration/registry/regtap/test_limits.py)."""

from __future__ import annotations

import asyncio

import pytest

from innerspace.registry.errors import SearchBusy
from innerspace.registry.regtap.gate import QueryGate


def test_turns_waits_and_refusals() -> None:
    async def scenario() -> list[str]:
        gate = QueryGate(1, 0.05, retry_after=7)
        seen = []
        async with gate.turn():
            assert gate.active == 1
            with pytest.raises(SearchBusy) as busy:
                async with gate.turn():
                    seen.append("never")
            assert busy.value.retry_after == 7 and busy.value.status == 503
            seen.append(busy.value.describe())
        patient = QueryGate(1, 30, retry_after=7)

        async def hold() -> None:
            async with patient.turn():
                await asyncio.sleep(0.05)
                seen.append("first")

        async def wait() -> None:
            async with patient.turn():
                seen.append("second")

        await asyncio.gather(hold(), wait())
        async with QueryGate(1, 0, retry_after=1).turn():  # free: no wait needed
            seen.append("free")
        return seen

    assert asyncio.run(scenario()) == [
        "the registry search is busy: 1 queries are running, the most this service runs "
        "at once; try again in 7 s", "first", "second", "free"]
