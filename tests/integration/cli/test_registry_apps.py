"""`innerspace app list` and `app show` with `--registry`: the command reads the apps
published to a real OCI registry directly, without a service."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from innerspace import cli
from tests.support.oci_registry import LiveRegistry
from tests.support.repository import digest_of


def test_cli_lists_registry_apps(registry: LiveRegistry, monkeypatch: pytest.MonkeyPatch,
                                 publish_example: Callable[[str, str], str]) -> None:
    ns = "t-cli"
    hello = publish_example("hello", ns)
    stats = publish_example("fits-stats", ns)
    for name in ("INNERSPACE_CONFIG", "INNERSPACE_REPOSITORY__URL",
                 "INNERSPACE_REPOSITORY__ALLOWED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INNERSPACE_REPOSITORY__NAMESPACE", ns)
    monkeypatch.setenv("COLUMNS", "300")  # wide enough that no digest is cut
    runner = CliRunner()

    listed = runner.invoke(cli.app, ["app", "list", "--registry", registry.url])
    assert listed.exit_code == 0, listed.output
    assert "hello" in listed.output and "fits-stats" in listed.output
    assert digest_of(hello)[:19] in listed.output
    assert digest_of(stats)[:19] in listed.output

    shown = runner.invoke(cli.app, ["app", "show", "hello", "--registry", registry.url])
    assert shown.exit_code == 0, shown.output
    assert "hello 1.0.0" in shown.output
    assert hello in shown.output
    assert "delay" in shown.output and "fits-stats" not in shown.output

    missing = runner.invoke(cli.app, ["app", "show", "nosuch", "--registry", registry.url])
    assert missing.exit_code != 0
