"""GET /usage over HTTP, the Python client's `usage()` and `innerspace usage`, against the
whole web service on the fake engine (no Docker): one's own usage, an administrator's look
at another owner's, the refusals, and errors as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from innerspace.cli import app as cli
from innerspace.client import Client, ClientError
from tests.support.fake_service import FakeEngineService

TOKENS = {"alice-token": "alice", "bob-token": "bob",
          "root-token": {"owner": "root", "groups": ["innerspace-admins"]}}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[FakeEngineService]:
    with FakeEngineService(tmp_path, auth={"tokens": TOKENS,
                                           "admin_groups": ["innerspace-admins"]}) as live:
        yield live


def test_usage_over_http_and_from_the_client(service: FakeEngineService) -> None:
    with service.client("alice-token") as alice:
        assert alice.post("/jobs", data={"app": "demo"}).status_code == 303
        answer = alice.get("/usage")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        usage = answer.json()
        assert usage["owner"] == "alice" and usage["jobs"] == {"PENDING": 1}
        assert (usage["running"], usage["queued"], usage["storage_bytes"]) == (0, 0, 0)
        assert set(usage["limits"]) == {"max_running_per_owner", "max_queued_per_owner",
                                        "max_storage_per_owner", "max_running_jobs"}
        refused = alice.get("/usage", params={"owner": "bob"})
        assert refused.status_code == 403
        assert refused.json() == {"error": "forbidden", "message": "owner='bob': only "
                                  "administrators see other owners' usage"}
    with service.client() as anonymous:
        assert anonymous.get("/usage").status_code == 401
    with Client(service.url, "root-token") as root:
        assert root.usage("alice")["jobs"] == {"PENDING": 1}
        assert root.usage()["owner"] == "root"
    with Client(service.url, "bob-token") as bob, pytest.raises(ClientError) as error:
        bob.usage("alice")
    assert error.value.status == 403


def test_innerspace_usage(service: FakeEngineService) -> None:
    runner = CliRunner()
    with service.client("alice-token") as alice:
        assert alice.post("/jobs", data={"app": "demo"}).status_code == 303
    shown = runner.invoke(cli, ["usage", "--url", service.url, "--token", "alice-token"],
                          env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    lines = [" ".join(line.split()) for line in shown.output.splitlines()]
    assert "owner alice" in lines
    assert "running 0 (no limit)" in lines
    assert "queued 0 of 1000" in lines
    assert "storage 0 B of 10.0 GiB" in lines
    assert "jobs 1 PENDING" in lines
    as_json = runner.invoke(cli, ["usage", "--json", "--owner", "alice", "--url", service.url,
                                  "--token", "root-token"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["owner"] == "alice"
    refused = runner.invoke(cli, ["usage", "--owner", "alice", "--url", service.url,
                                  "--token", "bob-token"])
    assert refused.exit_code != 0 and "only administrators" in refused.output
