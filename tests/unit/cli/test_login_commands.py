"""`innerspace login`, `logout` and `token` without a provider: what they say when there is
nothing to log in to or out of, and `token` printing a stored, fresh login's token (the
device flow itself runs against the real provider in tests/integration/auth)."""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from innerspace.cli import app
from innerspace.client.tokens import Login, TokenStore

runner = CliRunner()
NOWHERE = "http://127.0.0.1:9"  # nothing listens on the discard port


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200",
                                                "XDG_CONFIG_HOME": str(tmp_path)})
    return result.exit_code, result.output


def test_login_to_a_service_that_cannot_be_reached_fails_clearly(tmp_path: Path) -> None:
    code, output = invoke(tmp_path, "login", "--url", NOWHERE)
    assert code == 1 and "cannot reach" in output and "protected resource metadata" in output
    code, output = invoke(tmp_path, "login", "--url", NOWHERE, "--issuer",
                          "http://issuer.example", "--client-id", "cli")
    assert code == 1 and "not an https URL" in output
    assert not (tmp_path / "innerspace" / "tokens.json").exists()


def test_logout_and_token_without_a_login(tmp_path: Path) -> None:
    code, output = invoke(tmp_path, "logout", "--url", NOWHERE)
    assert code == 0 and f"Not logged in to {NOWHERE}" in output
    code, output = invoke(tmp_path, "token", "--url", NOWHERE)
    assert code == 1 and f"not logged in to {NOWHERE}" in output


def test_token_prints_the_stored_token_and_logout_removes_it(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "innerspace" / "tokens.json")
    store.put(NOWHERE, Login(access_token="the-access-token", issuer="http://127.0.0.1:9",
                             client_id="cli", token_endpoint="http://127.0.0.1:9/token",
                             expires_at=time.time() + 3600, lifetime=3600))
    code, output = invoke(tmp_path, "token", "--url", NOWHERE + "/")
    assert code == 0 and output.strip() == "the-access-token"
    code, output = invoke(tmp_path, "logout", "--url", NOWHERE)
    assert code == 0 and f"Logged out of {NOWHERE}." in output
    assert store.get(NOWHERE) is None
