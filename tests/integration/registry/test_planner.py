"""The federation planner against two running data centres, whose registry answers for the
federation: it ranks the data centres that can run an app, says why it leaves the others
out, and runs the job where the data collection is."""

from __future__ import annotations

from typing import Any

import httpx

from innerspace.client.federation import Federation
from tests.support.paths import TEST_APPS
from tests.support.services import ProcessService

Centres = tuple[ProcessService, ProcessService]


def test_planner_ranks_data_centres_and_says_why_others_are_left_out(
        centres: Centres, build_app: Any) -> None:
    build_app(TEST_APPS / "inner-probe")
    first, second = centres
    httpx.post(f"{first.url}/registry/refresh").raise_for_status()
    httpx.post(f"{second.url}/registry/harvest").raise_for_status()
    federation = Federation(second.url)  # the federation's registry: South harvests North

    plan = federation.plan("hello", name="Plan")
    assert {c.authority for c in plan.ranked} == {"ivo://north.example", "ivo://south.example"}, [
        (c.authority, c.reason) for c in plan.candidates]
    assert all(c.quote is not None for c in plan.ranked)
    for candidate in plan.candidates:
        assert candidate.job is not None and candidate.job.phase == "PENDING"
        candidate.job.delete()

    by_collection = federation.plan("hello", collection="south-sky")
    assert [c.authority for c in by_collection.ranked] == ["ivo://south.example"]
    [left_out] = by_collection.excluded
    assert left_out.authority == "ivo://north.example"
    assert left_out.reason == "holds no data collection 'south-sky'"
    chosen = by_collection.ranked[0].job
    assert chosen is not None
    chosen.delete()

    lacking = federation.plan("inner-probe")
    assert lacking.ranked == []
    assert {c.reason for c in lacking.excluded} == {"lacks the inner API http-files"}

    for centre, sky in ((first, "north-sky"), (second, "south-sky")):
        job = federation.run("hello", {"name": sky}, collection=sky)
        assert job.url.startswith(centre.url), "run where the collection is"
        status = job.wait(timeout=60)
        assert status.phase == "COMPLETED"
        assert job.fetch("greeting.txt") == f"Hello, {sky}!\n".encode()
    quotes_left = httpx.get(f"{second.url}/jobs", params={"PHASE": "PENDING"}).text
    assert "<uws:jobref " not in quotes_left, "the other quote jobs were deleted"
