"""Fair share on the fake engine: one owner's long queue does not hold back another owner's
job beyond one slot's turnover; the per-owner running and queued quotas; each owner's order
kept across a restart; what /usage reports. The tests end jobs themselves and assert the
order in which jobs start, never times."""

from __future__ import annotations

import operator
from functools import partial
from pathlib import Path

import pytest

from innerspace.auth import Caller
from innerspace.errors import Forbidden
from innerspace.uws.errors import QueuedQuotaExceeded
from innerspace.uws.phases import Phase
from innerspace.uws.request import JobRequest, Upload
from tests.support.uws_harness import UWSHarness

pytestmark = pytest.mark.anyio

ALICE, BOB = Caller("alice", how="token"), Caller("bob", how="token")
ROOT = Caller("root", frozenset({"innerspace-admins"}), admin=True, how="token")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def to_run(run: bool = True) -> JobRequest:
    fields: list[tuple[str, str | Upload]] = [("app", "demo"), ("count", "1")]
    return JobRequest.from_fields(fields + ([("PHASE", "RUN")] if run else []))


async def test_another_owner_starts_within_one_slot_turnover(tmp_path: Path) -> None:
    """The issue's case: 2 slots, one owner's 6 (twenty-second) jobs queued; another
    owner's job starts as soon as one slot turns over, not after the 6."""
    async with UWSHarness(tmp_path, max_running_jobs=2) as uws:
        alices = [uws.submit(owner="alice").id for _ in range(6)]
        await uws.engine.until(lambda: len(uws.engine.started) == 2)
        bobs = uws.submit(owner="bob").id
        assert uws.runner.queue_state(bobs).ahead == 0, "his job is next"
        assert uws.job(bobs).phase is Phase.QUEUED, "both slots are alice's"

        await uws.executing(alices[0])
        await uws.engine.finish(alices[0])  # one slot turns over
        await uws.engine.until(lambda: len(uws.engine.started) == 3)
        assert uws.engine.started[2] == bobs, "bob's job takes the first free slot"

        for job_id in alices[1:]:  # the rest, one after another
            await uws.executing(job_id)
            await uws.engine.finish(job_id)
        await uws.executing(bobs)
        await uws.engine.finish(bobs)
        ended = [await uws.reached(j, Phase.COMPLETED) for j in [*alices, bobs]]
    assert sorted(uws.engine.started[:2]) == sorted(alices[:2])
    assert uws.engine.started[3:] == alices[2:], "alice's jobs in her order"
    assert uws.engine.peak == 2
    assert all(job.phase is Phase.COMPLETED for job in ended)


async def test_owners_alternate_when_both_queue_many(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_running_jobs=1) as uws:
        first = uws.submit(owner="alice").id  # holds the slot while the others queue
        alices = [uws.submit(owner="alice").id for _ in range(3)]
        bobs = [uws.submit(owner="bob").id for _ in range(3)]
        for job_id in [first, bobs[0], alices[0], bobs[1], alices[1], bobs[2], alices[2]]:
            await uws.executing(job_id)  # fails (times out) if another job started first
            await uws.engine.finish(job_id)
            await uws.reached(job_id, Phase.COMPLETED)
    assert uws.engine.started == [first, bobs[0], alices[0], bobs[1], alices[1], bobs[2],
                                  alices[2]]


async def test_an_owner_at_the_running_quota_waits_while_others_run(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_running_jobs=3, max_running_per_owner=1) as uws:
        alices = [uws.submit(owner="alice").id for _ in range(3)]
        bobs = uws.submit(owner="bob").id
        # The queue is filled at once (no await in between): what it decided is settled.
        assert (uws.runner.running("alice"), uws.runner.queued("alice")) == (1, 2)
        assert uws.runner.running("bob") == 1
        await uws.executing(alices[0])
        await uws.executing(bobs)
        assert uws.job(alices[1]).phase is Phase.QUEUED, "a slot is free, but not for alice"
        await uws.engine.finish(alices[0])
        await uws.executing(alices[1])
        assert uws.runner.running("alice") == 1
        for job_id in (bobs, alices[1]):
            await uws.engine.finish(job_id)
        await uws.executing(alices[2])
        await uws.engine.finish(alices[2])
        await uws.reached(alices[2], Phase.COMPLETED)
    assert sorted(uws.engine.started[:2]) == sorted([alices[0], bobs]), "together"
    assert uws.engine.started[2:] == alices[1:]


async def test_the_queued_quota_refuses_runs_beyond_it(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_running_jobs=1, max_queued_per_owner=2) as uws:
        running = await uws.service.create(ALICE, to_run())
        await uws.executing(running.id)
        queued = [await uws.service.create(ALICE, to_run()) for _ in range(2)]
        with pytest.raises(QueuedQuotaExceeded) as refused:
            await uws.service.create(ALICE, to_run())
        assert refused.value.status == 429
        assert "max_queued_per_owner = 2" in str(refused.value)
        assert "alice already has 2 jobs waiting to run" in str(refused.value)
        pending = await uws.service.create(ALICE, to_run(run=False))  # not queued: fine
        with pytest.raises(QueuedQuotaExceeded):
            uws.service.run(ALICE, pending.id)
        with pytest.raises(QueuedQuotaExceeded):
            await uws.service.update_parameters(ALICE, pending.id, [("PHASE", "RUN")])
        assert uws.job(pending.id).phase is Phase.PENDING, "nothing changed"
        bobs = await uws.service.create(BOB, to_run())  # another owner is unaffected
        assert bobs.phase is Phase.QUEUED
        assert uws.runner.queued("alice") == 2

        await uws.engine.finish(running.id)
        await uws.executing(bobs.id)  # alice just had a turn: bob's comes first
        assert uws.runner.queued("alice") == 2
        await uws.engine.finish(bobs.id)
        await uws.executing(queued[0].id)  # one of alice's starts: room again
        assert uws.service.run(ALICE, pending.id).phase is Phase.QUEUED
        for job_id in (queued[0].id, queued[1].id, pending.id):
            await uws.executing(job_id)
            await uws.engine.finish(job_id)
            await uws.reached(job_id, Phase.COMPLETED)
    assert uws.engine.started == [running.id, bobs.id, queued[0].id, queued[1].id, pending.id]


async def test_a_restart_keeps_each_owners_order(tmp_path: Path) -> None:
    before = UWSHarness(tmp_path, max_running_jobs=1)
    # Queued before the restart, in this order (queued_at); one slot after it.
    owners = ["alice", "alice", "bob", "alice", "bob", "carol"]
    jobs = [before.add(Phase.QUEUED, owner=owner, queued_at=1000.0 + n).id
            for n, owner in enumerate(owners)]
    before.store.close()
    async with UWSHarness(tmp_path, max_running_jobs=1) as uws:
        order: list[str] = []
        for _ in jobs:
            await uws.engine.until(lambda: len(uws.engine.started) > len(order))
            job_id = uws.engine.started[-1]
            order.append(job_id)
            await uws.executing(job_id)
            await uws.engine.finish(job_id)
            await uws.reached(job_id, Phase.COMPLETED)
    of = dict(zip(jobs, owners, strict=True))
    for owner in ("alice", "bob", "carol"):
        assert [j for j in order if of[j] == owner] == [j for j in jobs if of[j] == owner]
    # and they took turns: alice, bob, carol, then alice, bob, alice
    assert [of[j] for j in order] == ["alice", "bob", "carol", "alice", "bob", "alice"]


async def test_usage_counts_the_owners_jobs_and_names_the_limits(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path, max_running_jobs=1, max_queued_per_owner=5,
                          max_running_per_owner=1) as uws:
        running = await uws.service.create(ALICE, to_run())
        await uws.executing(running.id)
        await uws.service.create(ALICE, to_run())
        await uws.service.create(ALICE, to_run(run=False))
        await uws.service.create(BOB, to_run(run=False))
        usage = uws.service.usage(ALICE).to_json()
        assert usage["owner"] == "alice"
        assert (usage["running"], usage["queued"]) == (1, 1)
        assert usage["jobs"] == {"EXECUTING": 1, "PENDING": 1, "QUEUED": 1}
        assert usage["storage_bytes"] == uws.store.stored_bytes("alice") > 0
        assert usage["limits"] == {"max_running_per_owner": 1, "max_queued_per_owner": 5,
                                   "max_storage_per_owner": uws.settings.limits.storage_quota,
                                   "max_running_jobs": 1}
        assert uws.service.usage(ROOT, "bob").to_json()["jobs"] == {"PENDING": 1}
        assert uws.service.usage(ALICE, "alice").owner == "alice", "oneself by name"
        with pytest.raises(Forbidden, match="only administrators"):
            uws.service.usage(ALICE, "bob")
        await uws.engine.until(partial(operator.contains, uws.engine.started, running.id))
        await uws.service.abort(ALICE, running.id)
