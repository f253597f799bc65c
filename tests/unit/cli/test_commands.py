"""The `innerspace` command without a service or a Docker engine: the commands it offers
and in which order, how it shows jobs and plans, how it refuses bad input, and that the
client commands load nothing the client-only installation lacks."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

from rich.console import Console
from typer.testing import CliRunner

from innerspace.cli import app
from innerspace.cli.rendering import job_json, job_table, phase_style, plan_table
from innerspace.client import JobStatus, ResultRef
from innerspace.client.federation import Candidate, Plan

runner = CliRunner()
NOWHERE = "http://127.0.0.1:9"  # nothing listens on the discard port


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def rendered(renderable: object) -> str:
    console = Console(width=200, color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


STATUS = JobStatus(
    job_id="abc123", phase="COMPLETED", owner="ada", run_id=None,
    creation_time=datetime(2024, 5, 1, 12, 0, tzinfo=UTC), start_time=None, end_time=None,
    quote=None, execution_duration=None, destruction=None, parameters={"name": "Ada"},
    error=None, info={"app": "hello", "appVersion": "1.0.0"},
    results=[ResultRef("greeting.txt", "http://x/r", 13, "text/plain")])


def test_the_commands_and_their_order() -> None:
    code, output = invoke("--help")
    assert code == 0
    listed = [line.split()[1] for line in output.splitlines()
              if line.startswith("│ ") and len(line.split()) > 2]
    assert listed[listed.index("version"):] == [
        "version", "serve", "base-image", "submit", "plan", "run", "jobs", "usage", "job",
        "results", "login", "logout", "token", "app", "repo", "swarm"]
    code, output = invoke("app", "--help")
    assert code == 0
    for command in ("lint", "build", "publish", "list", "show"):
        assert f"│ {command} " in output
    code, output = invoke("repo", "--help")
    assert code == 0 and "│ serve " in output
    code, output = invoke("swarm", "--help")
    assert code == 0 and "│ clean " in output


def test_bad_input_is_refused_before_any_request() -> None:
    code, output = invoke("submit", "hello", "-p", "novalue", "--url", NOWHERE)
    assert code == 1 and "-p 'novalue' is not key=value" in output
    code, output = invoke("submit", "hello", "--file", "image=/no/such.fits", "--url", NOWHERE)
    assert code == 1 and "--file image=/no/such.fits: no such file" in output
    code, output = invoke("jobs", "--url", NOWHERE)
    assert code == 1 and "cannot reach" in output


def test_a_job_is_shown_in_full() -> None:
    text = rendered(job_table(replace(STATUS, error="it broke")))
    assert "hello 1.0.0" in text and "COMPLETED" in text and "2024-05-01T12:00:00+00:00" in text
    assert "name=Ada" in text and "it broke" in text
    assert "greeting.txt (13 bytes, text/plain)" in text
    data = json.loads(job_json(STATUS))
    assert data["creation_time"] == "2024-05-01T12:00:00+00:00"
    assert data["results"] == [{"id": "greeting.txt", "href": "http://x/r", "size": 13,
                                "mime_type": "text/plain"}]
    assert phase_style("ERROR") == "red" and phase_style("PENDING") == "white"


def test_a_plan_lists_the_best_first_and_why_the_rest_are_left_out() -> None:
    plan = Plan("hello", [
        Candidate("ivo://late.example", "http://late/jobs", datetime(2024, 5, 2, tzinfo=UTC)),
        Candidate("ivo://early.example", "http://early/jobs", datetime(2024, 5, 1, tzinfo=UTC)),
        Candidate("ivo://far.example", None, reason="holds no data collection 'x'")])
    lines = rendered(plan_table(plan)).splitlines()
    early = next(i for i, line in enumerate(lines) if "early.example" in line)
    late = next(i for i, line in enumerate(lines) if "late.example" in line)
    assert early < late
    assert any("far.example" in line and "left out: holds no data collection 'x'" in line
               for line in lines)


def test_the_client_commands_load_neither_docker_nor_the_server() -> None:
    probe = ("import sys, innerspace.cli; "
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} | "
             "{m for m in sys.modules if m.startswith('innerspace.')})))")
    loaded = set(subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                                text=True).stdout.split())
    heavy = {"docker", "sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "astropy",
             "pyvo", "pydantic", "jsonschema", "innerspace.server", "innerspace.config",
             "innerspace.apps", "innerspace.engines", "innerspace.db", "innerspace.uws"}
    assert loaded & heavy == set()
