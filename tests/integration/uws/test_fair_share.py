"""Fair share on the real engine: with 2 slots held by one owner's jobs and 4 more of hers
queued, another owner's job starts at the first slot turnover. Asserted on the order of the
jobs' start times, which the queue decides and causality keeps: the first slot frees while
the other stays held much longer, so each later start follows an end."""

from __future__ import annotations

from typing import Any

from tests.support.uwsutil import UWS, create, wait_final, wait_phase

TOKENS = {"alice-token": "alice", "bob-token": "bob"}


def test_another_owner_starts_at_the_first_slot_turnover(make_service: Any) -> None:
    service = make_service(limits={"max_running_jobs": 2}, auth={"tokens": TOKENS})
    with service.client("alice-token") as alice, service.client("bob-token") as bob:
        # Both run far longer than it takes to see them EXECUTING (never a phase caught in
        # passing); the second holds its slot well past the first one's end.
        first = create(alice, {"app": "hello", "delay": 15, "PHASE": "RUN"})
        second = create(alice, {"app": "hello", "delay": 40, "PHASE": "RUN"})  # holds a slot
        rest = [create(alice, {"app": "hello", "name": f"a{n}", "PHASE": "RUN"})
                for n in range(4)]
        for job in (first, second):
            wait_phase(alice, job, "EXECUTING")
        bobs = create(bob, {"app": "hello", "name": "Bob", "PHASE": "RUN"})
        assert bob.get(f"{bobs}/phase").text == "QUEUED", "both slots are alice's"

        ended = {job: wait_final(alice, job) for job in (first, second, *rest)}
        ended[bobs] = wait_final(bob, bobs)
    assert {root.findtext(f"{UWS}phase") for root in ended.values()} == {"COMPLETED"}
    started = sorted(ended, key=lambda job: ended[job].findtext(f"{UWS}startTime"))
    assert set(started[:2]) == {first, second}
    assert started[2] == bobs, "bob's job took the first slot that turned over"
    assert started[3:] == rest, "alice's queued jobs in her order"


def test_the_queued_quota_answers_429_naming_it(make_service: Any) -> None:
    service = make_service(limits={"max_running_jobs": 1, "max_queued_per_owner": 1},
                           auth={"tokens": TOKENS})
    with service.client("alice-token") as alice, service.client("bob-token") as bob:
        running = create(alice, {"app": "hello", "delay": 60, "PHASE": "RUN"})
        wait_phase(alice, running, "EXECUTING")
        queued = create(alice, {"app": "hello", "PHASE": "RUN"})
        refused = alice.post("/jobs", data={"app": "hello", "PHASE": "RUN"})
        assert refused.status_code == 429
        assert refused.text == ("queued-job quota reached: alice already has 1 job waiting "
                                "to run, the most allowed (limits.max_queued_per_owner = 1); "
                                "run this job once some have started, or abort some\n")
        pending = create(alice, {"app": "hello"})  # a job that does not ask to run
        assert alice.post(f"{pending}/phase", data={"PHASE": "RUN"}).status_code == 429
        bobs = create(bob, {"app": "hello", "PHASE": "RUN"})  # bob has a quota of his own
        usage = alice.get("/usage").json()
        assert (usage["running"], usage["queued"]) == (1, 1)
        assert usage["limits"]["max_queued_per_owner"] == 1
        for job in (running, queued, pending):
            assert alice.post(f"{job}/phase", data={"PHASE": "ABORT"}).status_code == 303
        assert wait_final(bob, bobs).findtext(f"{UWS}phase") == "COMPLETED"
