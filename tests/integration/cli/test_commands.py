"""The `innerspace` command against a live service, as a user would type it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from typer.testing import CliRunner

from innerspace.cli import app
from tests.support.paths import EXAMPLES
from tests.support.services import LiveService

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_submit_wait_show_and_download(service: LiveService, tmp_path: Path) -> None:
    code, output = invoke("submit", "hello", "-p", "name=Cli", "--wait", "--url", service.url)
    assert code == 0, output
    assert "COMPLETED" in output and "greeting.txt" in output
    submitted = re.search(r"submitted job ([a-z0-9]{16})", output)
    assert submitted, output
    job_id = submitted.group(1)

    code, output = invoke("jobs", "--url", service.url)
    assert code == 0 and job_id in output

    code, output = invoke("job", job_id, "--json", "--url", service.url)
    assert code == 0
    status = json.loads(output)
    assert status["phase"] == "COMPLETED" and status["parameters"] == {"name": "Cli"}

    code, output = invoke("results", job_id, "--out", str(tmp_path), "--url", service.url)
    assert code == 0, output
    assert (tmp_path / "greeting.txt").read_text() == "Hello, Cli!\n"
    assert (tmp_path / "stdout").is_file()


def test_file_upload(service: LiveService, fits_file: Path) -> None:
    code, output = invoke("submit", "fits-stats", "--file", f"image={fits_file}", "--wait",
                          "--url", service.url)
    assert code == 0, output
    assert "stats.json" in output and "preview.png" in output


def test_errors_are_clear(service: LiveService) -> None:
    code, output = invoke("submit", "hello", "-p", "delay=abc", "--url", service.url)
    assert code == 1 and "parameter 'delay' must be a number" in output
    code, output = invoke("submit", "nosuchapp", "--url", service.url)
    assert code == 1 and "unknown app 'nosuchapp'" in output
    code, output = invoke("submit", "hello", "-p", "novalue", "--url", service.url)
    assert code == 1 and "not key=value" in output
    code, output = invoke("jobs", "--url", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach" in output


def test_app_list_and_lint(service: LiveService, tmp_path: Path) -> None:
    code, output = invoke("app", "list", "--url", service.url)
    assert code == 0 and "hello" in output and "fits-stats" in output
    code, output = invoke("app", "lint", str(EXAMPLES / "hello"))
    assert code == 0 and "ok" in output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "innerspace.toml").write_text(
        'name = "Bad Name"\nversion = "1"\nrun = { module = "x" }\n'
        '[parameters.n]\ntype = "colour"\n')
    code, output = invoke("app", "lint", str(broken))
    assert code == 1
    assert "name" in output and "title" in output and "parameters.n.type" in output


def test_plan_and_run_through_the_registry(service: LiveService, tmp_path: Path) -> None:
    code, output = invoke("plan", "hello", "--url", service.url)
    assert code == 0, output
    assert "ivo://innerspace.local" in output and f"{service.url}/jobs" in output
    code, output = invoke("plan", "hello", "--collection", "nope", "--url", service.url)
    assert code == 1 and "left out: holds no data collection 'nope'" in output
    code, output = invoke("run", "hello", "-p", "name=Planned", "--out", str(tmp_path),
                          "--url", service.url)
    assert code == 0, output
    [job_dir] = list(tmp_path.iterdir())
    assert (job_dir / "greeting.txt").read_text() == "Hello, Planned!\n"
    pending = httpx.get(f"{service.url}/jobs", params={"PHASE": "PENDING"}).text
    assert "<uws:jobref " not in pending, "plan leaves no quote jobs behind"
