"""The live tail of a running job's output: bounded per stream, read by cursor without
repeats, and waking its readers on each new line."""

from __future__ import annotations

import asyncio

from innerspace.uws.liveoutput import (
    CUT_MARK,
    MAX_CHARS,
    MAX_LINE_CHARS,
    MAX_LINES,
    LiveOutput,
    OutputTail,
)


def test_lines_are_read_after_the_cursor_in_the_order_they_came() -> None:
    tail = OutputTail()
    tail.add("stdout", "one")
    tail.add("stderr", "oops")
    tail.add("stdout", "two")
    first = tail.since(0)
    assert [(line.seq, line.stream, line.text) for line in first.lines] == [
        (1, "stdout", "one"), (2, "stderr", "oops"), (3, "stdout", "two")]
    assert (first.cursor, first.skipped) == (3, 0)
    assert tail.since(first.cursor).lines == []
    assert tail.since(first.cursor).cursor == 3
    tail.add("stderr", "again")
    again = tail.since(first.cursor)
    assert [line.text for line in again.lines] == ["again"] and again.cursor == 4


def test_a_limited_read_resumes_where_it_stopped() -> None:
    tail = OutputTail()
    for number in range(10):
        tail.add("stdout", f"line {number}")
    head = tail.since(0, limit=4)
    assert [line.text for line in head.lines] == [f"line {n}" for n in range(4)]
    rest = tail.since(head.cursor)
    assert [line.text for line in rest.lines] == [f"line {n}" for n in range(4, 10)]


def test_each_stream_keeps_its_last_lines_only() -> None:
    tail = OutputTail()
    tail.add("stderr", "kept")
    for number in range(MAX_LINES + 50):
        tail.add("stdout", f"{number}")
    batch = tail.since(0)
    stdout = [line.text for line in batch.lines if line.stream == "stdout"]
    assert len(stdout) == MAX_LINES and stdout[-1] == f"{MAX_LINES + 49}"
    assert [line.text for line in batch.lines if line.stream == "stderr"] == ["kept"]
    assert batch.skipped == 50  # what the reader never saw, said rather than hidden
    assert batch.cursor == MAX_LINES + 51


def test_a_stream_holds_a_bounded_number_of_characters() -> None:
    tail = OutputTail()
    long = "x" * (MAX_LINE_CHARS * 3)
    for _ in range(MAX_LINES):
        tail.add("stdout", long)
    lines = tail.since(0).lines
    assert all(line.text == "x" * MAX_LINE_CHARS + CUT_MARK for line in lines)
    held = sum(len(line.text) for line in lines)
    assert held <= MAX_CHARS + len(lines[-1].text)
    assert len(lines) < MAX_LINES


def test_a_cursor_from_before_a_restart_waits_for_lines_beyond_it() -> None:
    tail = OutputTail()
    for number in range(5):
        tail.add("stdout", f"{number}")
    assert tail.since(9).lines == []
    for number in range(5, 12):
        tail.add("stdout", f"{number}")
    assert [line.text for line in tail.since(9).lines] == ["9", "10", "11"]


def test_readers_wake_on_a_new_line_and_on_the_end() -> None:
    async def scenario() -> None:
        tail = OutputTail()
        woken = tail.watch()
        assert not woken.is_set()
        tail.add("stdout", "hello")
        assert woken.is_set() and not tail.watch().is_set()
        last = tail.watch()
        reader = asyncio.create_task(last.wait())
        tail.close()
        await asyncio.wait_for(reader, 30)
        assert tail.closed and tail.since(0).lines == []
        tail.add("stdout", "too late")
        assert tail.since(0).lines == []

    asyncio.run(scenario())


def test_tails_are_per_running_job_and_freed_at_the_end() -> None:
    async def scenario() -> None:
        live = LiveOutput()
        first = live.open("a")
        live.open("b").add("stdout", "b's")
        first.add("stdout", "a's")
        assert [line.text for line in first.since(0).lines] == ["a's"]
        assert len(live) == 2
        live.close("a")
        assert first.closed and live.get("a") is None and len(live) == 1
        again = live.open("b")  # a new run: the old tail ends
        assert again.since(0).lines == [] and len(live) == 1

    asyncio.run(scenario())
