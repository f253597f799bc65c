"""Progress lines a fixture shows while pytest captures output (installing npm modules for the
test OpenID provider or axe-core takes a few seconds, once)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest


def live_progress(config: pytest.Config, tag: str) -> Callable[[str], None]:
    """A function that writes `[tag] line` on pytest's terminal, past its capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:
        if reporter is None or capture is None:
            print(f"[{tag}] {line}", file=sys.stderr)
            return
        with capture.global_and_fixture_disabled():  # as pytest's own live logging does
            reporter.write_line(f"[{tag}] {line}")

    return say
