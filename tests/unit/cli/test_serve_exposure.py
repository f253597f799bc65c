"""`innerspace serve` warns, on stderr and in the log, when it listens beyond loopback while
anyone may use it without a token; uvicorn is replaced, so that nothing listens."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from innerspace import observability
from innerspace.cli import app
from innerspace.cli.operators import is_loopback

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What uvicorn.run was asked to serve (it returns at once)."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: calls.append(options))
    for name in ("INNERSPACE_TOKENS", "INNERSPACE_ALLOW_ANONYMOUS", "INNERSPACE_CONFIG",
                 "INNERSPACE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    # The root logger stays as pytest set it (test_serve_logging.py covers what serve
    # makes of it), so that the warning is seen once on stderr and once in caplog.
    monkeypatch.setattr(observability, "configure_logging", lambda *_: None)
    return calls


def serve(tmp_path: Path, host: str, **env: str) -> tuple[str, str]:
    result = runner.invoke(app, ["serve", "--host", host, "--port", "8123", "--data-dir",
                                 str(tmp_path)], env={"COLUMNS": "400", **env})
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "vo.example.org"])
def test_anonymous_service_beyond_loopback_is_warned_about(
        tmp_path: Path, served: list[dict[str, Any]], caplog: pytest.LogCaptureFixture,
        host: str) -> None:
    with caplog.at_level(logging.WARNING, logger="innerspace"):
        stdout, stderr = serve(tmp_path, host)
    assert [{k: v for k, v in options.items() if k != "http"} for options in served] == [
        {"host": host, "port": 8123, "log_level": "info", "log_config": None,
         "access_log": False, "loop": "auto", "proxy_headers": False}]
    # The request head bound (limits.max_request_head) rides on the HTTP protocol class.
    assert served[0]["http"].head_limit == 64 * 1024
    assert stderr.startswith(f"WARNING: innerspace listens on {host}, beyond this machine, "
                             "and accepts requests without a token: anyone who can reach "
                             "this address can run jobs on this machine")
    assert "INNERSPACE_TOKENS=<secret>=<owner>" in stderr
    assert "WARNING" not in stdout
    logged = [r.getMessage() for r in caplog.records if r.name == "innerspace"]
    assert logged == [" ".join(stderr.split()).removeprefix("WARNING: ")]


@pytest.mark.parametrize(("host", "env"), [
    ("127.0.0.1", {}), ("localhost", {}), ("::1", {}), ("127.0.0.2", {}),
    ("0.0.0.0", {"INNERSPACE_TOKENS": "s3cret=ada"}),
])
def test_no_warning_on_loopback_or_with_tokens(tmp_path: Path, served: list[dict[str, Any]],
                                               host: str, env: dict[str, str]) -> None:
    _, stderr = serve(tmp_path, host, **env)
    assert len(served) == 1
    assert stderr == ""


def test_tokens_with_anonymous_access_still_warn(tmp_path: Path,
                                                 served: list[dict[str, Any]]) -> None:
    _, stderr = serve(tmp_path, "0.0.0.0", INNERSPACE_TOKENS="s3cret=ada",
                      INNERSPACE_ALLOW_ANONYMOUS="true")
    assert len(served) == 1
    assert stderr.startswith("WARNING: innerspace listens on 0.0.0.0")


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("::", False), ("192.168.1.5", False),
    ("example.org", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
