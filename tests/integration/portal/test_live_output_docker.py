"""The live tail of a running job's output on the real Docker engine: the ticker test app
writes a line to stdout and one to stderr every second, and those lines reach the job page's
event stream (/portal/jobs/{id}/events) while the job is EXECUTING, long before it ends.
It runs on the local engine (which follows the container's logs) and on a real two-node Swarm
(which follows the job service's logs, one stream each for stdout and stderr).
Nothing here waits on time: the test reads the stream until the lines have come."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.paths import TEST_APPS
from tests.support.services import LiveService
from tests.support.sse import events, output_lines
from tests.support.uwsutil import create, wait_final

WANTED = {("stdout", "tick 1"), ("stdout", "tick 2"), ("stderr", "tock 1"),
          ("stderr", "tock 2")}


@pytest.fixture(scope="module")
def ticker(build_app: Callable[..., str]) -> str:
    return build_app(TEST_APPS / "ticker")


@pytest.fixture(scope="module", params=["docker", "swarm"])
def engine_settings(request: pytest.FixtureRequest, ticker: str) -> dict[str, Any]:
    """The test runs on the local engine and on a two-node Swarm (its task may be placed on
    either node, so the ticker image goes to the worker too)."""
    if request.param == "docker":
        return {}
    cluster = request.getfixturevalue("swarm_cluster")
    cluster.copy_image(ticker)
    return dict(cluster.settings())


def test_lines_arrive_while_the_job_runs(ticker: str,
                                         make_service: Callable[..., LiveService]) -> None:
    service = make_service()
    with service.client() as http:
        job_url = create(http, {"app": "ticker", "seconds": "600", "PHASE": "RUN"})
        job_id = job_url.rsplit("/", 1)[-1]
        got: list[tuple[str, str]] = []
        phase = ""
        with http.stream("GET", f"/portal/jobs/{job_id}/events") as stream:
            for event in events(stream):
                assert event.name in ("state", "output"), f"the job ended first: {event}"
                if event.name == "state":
                    phase = event.data["phase"]
                else:
                    assert phase == "EXECUTING", "output comes while the job runs"
                    got += output_lines(event)
                    if set(got) >= WANTED:
                        break
        for which, word in (("stdout", "tick"), ("stderr", "tock")):
            mine = [text for name, text in got if name == which]
            assert mine == [f"{word} {n}" for n in range(1, len(mine) + 1)], got
        assert len(got) == len(set(got)), "no line twice"
        assert http.get(f"{job_url}/phase").text == "EXECUTING"  # 600 s to go

        aborted = http.post(f"{job_url}/phase", data={"PHASE": "ABORT"})
        assert aborted.status_code == 303, aborted.text
        document = wait_final(http, job_url)
        assert document.find("{http://www.ivoa.net/xml/UWS/v1.0}phase").text == "ABORTED"
        with http.stream("GET", f"/portal/jobs/{job_id}/events") as stream:
            assert [event.name for event in events(stream)] == ["state", "end"]
