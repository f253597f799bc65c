"""`innerspace login` end to end against the real OpenID provider: the CLI, as a process of
its own with a configuration directory of its own, finds the issuer and its client in the
service's metadata, prints a user code, which the test approves as alice would in a browser;
the stored login then works for the other commands (`innerspace submit`, `job`, `jobs`,
`token`), is refreshed when it is about to expire and when the service refuses it, and
`innerspace logout` removes it and revokes it at the provider."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fake_service import FakeEngineService
from tests.support.oidc_provider import OAuthError, OIDCProvider
from tests.support.oidc_service import oidc_settings

INNERSPACE = str(Path(sys.executable).parent / "innerspace")
PATIENCE = 120.0  # seconds for what should take a few
CODE = re.compile(r"enter the code\s+(\S+)")


@pytest.fixture
def service(oidc_provider: OIDCProvider,
            make_auth_service: Callable[..., FakeEngineService]) -> FakeEngineService:
    return make_auth_service(**oidc_settings(oidc_provider))


class CLI:
    """The `innerspace` command with its own configuration directory (XDG_CONFIG_HOME),
    none of the caller's INNERSPACE_* variables, and the service's URL."""

    def __init__(self, config: Path, url: str) -> None:
        self.url = url
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith("INNERSPACE_")}
        self.env.update(XDG_CONFIG_HOME=str(config), COLUMNS="200", PYTHONUNBUFFERED="1")
        self.tokens = config / "innerspace" / "tokens.json"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([INNERSPACE, *args, "--url", self.url], env=self.env,
                              capture_output=True, text=True, timeout=PATIENCE)

    def login(self, provider: OIDCProvider, user: str = "alice") -> str:
        """`innerspace login`, approved as `user` once it shows its code; its output."""
        process = subprocess.Popen([INNERSPACE, "login", "--url", self.url], env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        lines: list[str] = []
        shown = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if CODE.search(line):
                    shown.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert shown.wait(PATIENCE), f"no user code shown: {''.join(lines)}"
            match = CODE.search("".join(lines))
            assert match is not None
            provider.approve_device(match.group(1), user, provider.users[user].password)
            assert process.wait(PATIENCE) == 0, "".join(lines)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            reader.join(10)
        return "".join(lines)

    def stored(self) -> dict[str, Any]:
        logins: dict[str, Any] = json.loads(self.tokens.read_text())["logins"]
        return dict(logins[self.url])

    def edit(self, **changes: Any) -> None:
        data = json.loads(self.tokens.read_text())
        data["logins"][self.url].update(changes)
        self.tokens.write_text(json.dumps(data))


def owner_of_new_job(cli: CLI) -> str:
    """Submit the demo app with the stored login and read back the job's owner."""
    submitted = cli.run("submit", "demo", "--hold")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    match = re.search(r"submitted job (\w+)", submitted.stdout)
    assert match is not None, submitted.stdout
    shown = cli.run("job", match.group(1), "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return str(json.loads(shown.stdout)["owner"])


def test_device_login_refresh_and_logout(oidc_provider: OIDCProvider,
                                         service: FakeEngineService, tmp_path: Path) -> None:
    cli = CLI(tmp_path / "config", service.url)
    refused = cli.run("jobs")
    assert refused.returncode == 1 and "bearer token" in refused.stderr

    output = cli.login(oidc_provider)
    assert f"To sign in, open {oidc_provider.verification_uri}" in output
    assert "user_code=" in output, "the complete verification URI too"
    assert f"Logged in to {service.url} as alice" in output
    assert stat.S_IMODE(cli.tokens.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.tokens.parent.stat().st_mode) == 0o700
    first = cli.stored()
    assert first["issuer"] == oidc_provider.issuer and first["client_id"] == "innerspace-cli"
    assert first["access_token"] not in output and first["refresh_token"] not in output

    assert owner_of_new_job(cli) == "alice"
    listed = cli.run("jobs")
    assert listed.returncode == 0 and "PENDING" in listed.stdout

    # About to expire: refreshed before use (a rotated refresh token comes with it).
    cli.edit(expires_at=time.time() + 5)
    assert cli.run("jobs").returncode == 0
    second = cli.stored()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_at"] > time.time() + 60

    printed = cli.run("token")
    assert printed.returncode == 0 and printed.stdout.strip() == second["access_token"]
    direct = httpx.get(f"{service.url}/jobs", timeout=60,
                       headers={"Authorization": f"Bearer {printed.stdout.strip()}"})
    assert direct.status_code == 200 and direct.headers["x-vo-authenticated"] == "alice"

    out = cli.run("logout")
    assert out.returncode == 0 and "the provider revoked it" in out.stdout
    assert json.loads(cli.tokens.read_text())["logins"] == {}
    with pytest.raises(OAuthError) as spent:
        oidc_provider.refresh(second["refresh_token"])
    assert spent.value.error == "invalid_grant"
    assert cli.run("jobs").returncode == 1
    again = cli.run("logout")
    assert again.returncode == 0 and "Not logged in" in again.stdout


def test_a_token_the_service_refuses_is_refreshed(oidc_provider: OIDCProvider,
                                                  service: FakeEngineService,
                                                  tmp_path: Path) -> None:
    cli = CLI(tmp_path / "config", service.url)
    # The provider's JWTs say they expired an hour ago; the token response does not.
    with oidc_provider.token_clock(-3600):
        cli.login(oidc_provider)
    stale = cli.stored()
    refused = httpx.get(f"{service.url}/jobs", timeout=60,
                        headers={"Authorization": f"Bearer {stale['access_token']}"})
    assert refused.status_code == 401
    assert owner_of_new_job(cli) == "alice", "refreshed on the 401, the request sent again"
    assert cli.stored()["access_token"] != stale["access_token"]


def test_an_explicit_token_wins_over_the_stored_login(oidc_provider: OIDCProvider,
                                                      service: FakeEngineService,
                                                      tmp_path: Path) -> None:
    cli = CLI(tmp_path / "config", service.url)
    cli.login(oidc_provider, "alice")
    bob = oidc_provider.device_login("bob", "bob-password")["access_token"]
    cli.env["INNERSPACE_TOKEN"] = bob
    assert owner_of_new_job(cli) == "bob"
    del cli.env["INNERSPACE_TOKEN"]
    assert owner_of_new_job(cli) == "alice"
    garbage = cli.run("jobs", "--token", "not-a-token")
    assert garbage.returncode == 1 and "not-a-token" not in garbage.stderr
