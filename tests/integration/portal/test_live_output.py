"""The live tail of a running job's stdout and stderr on the job page, over HTTP on the fake
engine: `output` events while the job runs, a reconnect with Last-Event-ID resuming after
the last line received (no line twice), the page's live panes, and the owner's alone."""

from __future__ import annotations

import httpx

from tests.support.portal import PortalService, element, parse_page
from tests.support.portal_jobs import finish, harness, make_job, on_loop, started
from tests.support.sse import Event, events, output_lines

ALICE, BOB = "alice-token", "bob-token"


def say(service: PortalService, job_id: str, *lines: str, stderr: bool = False) -> None:
    engine = harness(service).engine
    for line in lines:
        on_loop(service, engine.say(job_id, line, stderr=stderr))


def read_output(http: httpx.Client, job_id: str, wanted: set[tuple[str, str]],
                last_id: str | None = None) -> tuple[list[tuple[str, str]], list[Event]]:
    """The output lines a new stream sends until it has sent every one of `wanted` (and
    every event it sent meanwhile)."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    got: list[tuple[str, str]] = []
    seen: list[Event] = []
    with http.stream("GET", f"/portal/jobs/{job_id}/events", headers=headers) as stream:
        for event in events(stream):
            seen.append(event)
            assert event.name in ("state", "output"), event
            if event.name == "output":
                got += output_lines(event)
                if wanted <= set(got):
                    break
    return got, seen


def test_output_streams_while_the_job_runs_and_resumes_without_repeats(
        portal_auth: PortalService) -> None:
    with portal_auth.client(ALICE) as http:
        job_id = make_job(http)
        started(portal_auth, job_id)
        say(portal_auth, job_id, "tick 1", "tick 2")
        say(portal_auth, job_id, "tock 1", stderr=True)
        got, seen = read_output(http, job_id, {("stdout", "tick 1"), ("stdout", "tick 2"),
                                               ("stderr", "tock 1")})
        assert sorted(got) == [("stderr", "tock 1"), ("stdout", "tick 1"),
                               ("stdout", "tick 2")]
        states = [e.data["phase"] for e in seen if e.name == "state"]
        assert states and states[-1] == "EXECUTING", states
        last_id = [e for e in seen if e.name == "output"][-1].last_id
        assert last_id == "3", "each output event carries the number of its last line"

        say(portal_auth, job_id, "tick 3")
        say(portal_auth, job_id, "tock 2", stderr=True)
        again, _ = read_output(http, job_id, {("stdout", "tick 3"), ("stderr", "tock 2")},
                               last_id=last_id)
        assert sorted(again) == [("stderr", "tock 2"), ("stdout", "tick 3")], \
            "a reconnect resumes after the last line it had"
        everything, _ = read_output(http, job_id, {("stderr", "tock 2")})
        assert len(everything) == 5, "a new page gets the whole tail"

        with portal_auth.client(BOB) as bob:
            assert bob.get(f"/portal/jobs/{job_id}/events").status_code == 404

        page = parse_page(http.get(f"/portal/jobs/{job_id}",
                                   headers={"Accept": "text/html"}).text)
        assert element(page, "pre", id="live-stdout")["data-stream"] == "stdout"
        assert element(page, "pre", id="live-stderr")["data-stream"] == "stderr"

        finish(portal_auth, job_id, stdout="tick 1\ntick 2\ntick 3\n")
        with http.stream("GET", f"/portal/jobs/{job_id}/events") as stream:
            ended = [event.name for event in events(stream)]
        assert ended == ["state", "end"], "an ended job has no live output"
        final = http.get(f"/portal/jobs/{job_id}", headers={"Accept": "text/html"}).text
        assert 'id="live-stdout"' not in final and "tick 3" in final
