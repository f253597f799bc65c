"""How `innerspace serve` sets up logging: one handler for every logger (uvicorn's left to
it), text or JSON lines from `logging.format`, the level from `logging.level` or
--log-level, and uvicorn's own access log (which writes query strings) off."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from innerspace.cli import app
from innerspace.observability.logs import JsonFormatter, TextFormatter

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What uvicorn.run was asked (it returns at once); the root logger restored after."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: calls.append(options))
    for name in ("INNERSPACE_CONFIG", "INNERSPACE_LOGGING__FORMAT", "INNERSPACE_LOGGING__LEVEL"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    return calls


def serve(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path), *args],
                           env={"COLUMNS": "200", **env})
    return result.exit_code, result.output


def our_handler() -> logging.Handler:
    (handler,) = [h for h in logging.getLogger().handlers
                  if getattr(h, "_innerspace_handler", False)]
    return handler


def test_json_lines_at_the_configured_level(tmp_path: Path,
                                            served: list[dict[str, Any]]) -> None:
    code, output = serve(tmp_path, INNERSPACE_LOGGING__FORMAT="json",
                         INNERSPACE_LOGGING__LEVEL="warning")
    assert code == 0, output
    assert isinstance(our_handler().formatter, JsonFormatter)
    assert logging.getLogger().level == logging.WARNING
    assert served[0]["log_level"] == "warning" and served[0]["log_config"] is None
    assert served[0]["access_log"] is False


def test_the_option_overrides_the_setting(tmp_path: Path,
                                          served: list[dict[str, Any]]) -> None:
    code, output = serve(tmp_path, "--log-level", "DEBUG", INNERSPACE_LOGGING__LEVEL="error")
    assert code == 0, output
    assert isinstance(our_handler().formatter, TextFormatter)
    assert served[0]["log_level"] == "debug" and logging.getLogger().level == logging.DEBUG
    code, output = serve(tmp_path, "--log-level", "trace")
    assert code == 1 and "--log-level: log level 'trace' is not one of debug" in output
    code, output = serve(tmp_path, INNERSPACE_LOGGING__FORMAT="xml")
    assert code == 1 and "logging.format 'xml' is not one of text, json" in output
    assert len(served) == 1
