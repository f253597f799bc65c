"""The fair-share queue on its own: FIFO within an owner, the next slot to the owner running
fewest (ties to the one served least recently), owners at their running quota passed over,
and the estimate of how many jobs start before one."""

from __future__ import annotations

from collections import Counter

from innerspace.uws.queue import FairQueue


def slots(**running: int) -> Counter[str | None]:
    """Jobs running, by owner."""
    return Counter(running)


def drain(queue: FairQueue) -> list[str]:
    """The start order when each job ends before the next one starts (one slot)."""
    order: list[str] = []
    while (picked := queue.pop(slots(), None)) is not None:
        order.append(picked[0])
    return order


def test_one_owner_is_first_in_first_out() -> None:
    queue = FairQueue()
    for n in range(5):
        queue.push(f"a{n}", "alice")
    assert len(queue) == 5 and "a3" in queue
    assert drain(queue) == [f"a{n}" for n in range(5)]
    assert len(queue) == 0


def test_owners_take_turns_whatever_the_arrival_order() -> None:
    queue = FairQueue()
    for n in range(4):
        queue.push(f"a{n}", "alice")
    queue.push("b0", "bob")
    queue.push("b1", "bob")
    queue.push("x0", None)  # anonymous callers are one owner
    assert drain(queue) == ["a0", "b0", "x0", "a1", "b1", "a2", "a3"]


def test_the_owner_running_fewest_goes_first() -> None:
    queue = FairQueue()
    for n in range(3):
        queue.push(f"a{n}", "alice")
    queue.push("b0", "bob")
    # alice holds both slots; bob, arriving last, still starts next
    assert queue.pop(slots(alice=2), None) == ("b0", "bob")
    assert queue.pop(slots(alice=2, bob=1), None) == ("a0", "alice")


def test_an_owner_at_the_running_quota_is_passed_over() -> None:
    queue = FairQueue()
    queue.push("a0", "alice")
    queue.push("a1", "alice")
    queue.push("b0", "bob")
    assert queue.pop(slots(alice=1), 1) == ("b0", "bob")
    assert queue.pop(slots(alice=1, bob=1), 1) is None, "nobody may start one"
    assert queue.pop(slots(bob=1), 1) == ("a0", "alice")


def test_removal_keeps_the_rest_in_order() -> None:
    queue = FairQueue()
    for job in ("a0", "a1", "a2"):
        queue.push(job, "alice")
    queue.push("b0", "bob")
    assert queue.remove("a1") and not queue.remove("a1")
    assert queue.remove("b0")
    assert queue.queued("alice") == 2 and queue.queued("bob") == 0
    assert list(queue) == ["a0", "a2"]
    queue.push("a0", "alice")  # already queued: stays where it is
    assert drain(queue) == ["a0", "a2"]


def test_an_owner_served_last_waits_for_the_others() -> None:
    queue = FairQueue()
    queue.push("a0", "alice")
    assert queue.pop(slots(), None) == ("a0", "alice")  # alice's line empties
    queue.push("a1", "alice")
    queue.push("b0", "bob")
    queue.push("b1", "bob")
    assert drain(queue) == ["b0", "a1", "b1"], "bob has not had a turn yet"


def test_ahead_counts_turns_across_owners() -> None:
    queue = FairQueue()
    for n in range(6):
        queue.push(f"a{n}", "alice")
    queue.push("b0", "bob")
    running = slots(alice=2)
    assert queue.ahead("b0", running) == 0, "bob runs nothing: his job is next"
    assert queue.ahead("a0", running) == 1, "bob's job goes first"
    assert queue.ahead("zzzz", running) == 7, "not queued: the whole queue"
    estimates = {job: queue.ahead(job, running) for job in list(queue)}
    order = []  # while no job ends, the estimates are exact
    while (picked := queue.pop(running, None)) is not None:
        order.append(picked[0])
        running[picked[1]] += 1
    assert order == ["b0", "a0", "a1", "a2", "a3", "a4", "a5"]
    assert estimates == {job: order.index(job) for job in order}
