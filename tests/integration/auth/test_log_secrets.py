"""Tokens never reach a log. `innerspace serve` runs as in production, trusting the real
OpenID provider, with JSON logs at DEBUG level (every logger: innerspace's, uvicorn's,
httpx's as it fetches the provider's keys and introspects); this process logs the same way
while it logs in by the device flow, refreshes and logs out. Then valid, expired, forged,
opaque, revoked and garbage tokens, tokens in query strings and cookies, and requests that
fail are sent, and neither log may hold any token, signature, code or client secret."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from innerspace.client import Client
from innerspace.client.login import DeviceCode, login, logout
from innerspace.client.tokens import TokenStore
from innerspace.observability import configure_logging
from tests.support.net import free_port
from tests.support.oidc_provider import OPAQUE_CLIENT, SERVICE_CLIENT, OIDCProvider
from tests.support.oidc_service import alg_none, hs256_with_public_key, oidc_settings


class ServeProcess:
    """`innerspace serve --log-level debug` with JSON logs, its output in a file."""

    def __init__(self, data_dir: Path, auth: dict[str, Any]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "service.log"
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith("INNERSPACE_")}
        self.env.update(INNERSPACE_PUBLIC_URL=self.url, INNERSPACE_LOGGING__FORMAT="json")
        for key, value in auth.items():
            self.env[f"INNERSPACE_AUTH__{key.upper()}"] = (
                json.dumps(value) if isinstance(value, list | bool) else str(value))
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "innerspace"), "serve", "--data-dir",
                 str(self.data_dir), "--port", str(self.port), "--log-level", "debug"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/availability", timeout=2)
                return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the service did not start:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def served(oidc_provider: OIDCProvider, docker_client: Any,
           tmp_path: Path) -> Iterator[ServeProcess]:
    service = ServeProcess(tmp_path, oidc_settings(oidc_provider, introspection_cache=0))
    yield service.start()
    service.stop()


@pytest.fixture
def client_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[io.StringIO]:
    """This process's log lines (the CLI side), as JSON at DEBUG level."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("INNERSPACE_TOKEN", raising=False)
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("json", "debug", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def secrets_of(token: str) -> list[str]:
    """A token, and its signature if it is a JWT (a signature alone must not leak either)."""
    parts = token.split(".")
    return [token, parts[2]] if len(parts) == 3 and len(parts[2]) > 16 else [token]


def test_no_token_reaches_any_log(oidc_provider: OIDCProvider, served: ServeProcess,
                                  client_log: io.StringIO) -> None:
    secrets: list[str] = [oidc_provider.services[SERVICE_CLIENT].secret]
    url = served.url

    def approve(device: DeviceCode) -> None:  # the user, in a browser, while the CLI waits
        secrets.append(device.device_code)
        oidc_provider.approve_device(device.user_code, "alice", "alice-password")

    made = login(url, approve)
    secrets += [made.access_token, made.refresh_token or ""]
    statuses: list[int] = []

    def call(method: str, path: str, token: str | None = None,
             headers: dict[str, str] | None = None, **options: Any) -> None:
        sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        answer = httpx.request(method, url + path, headers=sent, timeout=60, **options)
        statuses.append(answer.status_code)

    with Client(url) as client:  # the stored login
        assert client.jobs() == []
    store = TokenStore()
    stored = store.get(url)
    assert stored is not None
    store.put(url, replace(stored, expires_at=time.time() - 1))  # as if it had expired
    with Client(url) as client:  # refreshed first
        assert client.jobs() == []
    refreshed = store.get(url)
    assert refreshed is not None and refreshed.access_token != made.access_token
    secrets += [refreshed.access_token, refreshed.refresh_token or ""]

    valid = refreshed.access_token
    with oidc_provider.token_clock(-3600):
        expired = oidc_provider.device_login("bob", "bob-password")
    opaque = oidc_provider.client_credentials_token(OPAQUE_CLIENT)["access_token"]
    revoked = oidc_provider.client_credentials_token(OPAQUE_CLIENT)["access_token"]
    oidc_provider.revoke(revoked, OPAQUE_CLIENT)
    admin = oidc_provider.device_login("root", "root-password")["access_token"]
    forged = [alg_none(valid), hs256_with_public_key(valid, oidc_provider)]
    garbage = "garbage-token-Hx81kQ"
    for token in [expired["access_token"], expired["refresh_token"], expired["id_token"],
                  opaque, revoked, admin, garbage, *forged]:
        secrets += secrets_of(token)

    call("GET", "/jobs", valid)
    call("POST", "/jobs", valid, data={"app": "no-such-app"})  # a failure: 400
    call("GET", "/jobs/0123456789abcdef", valid)  # 404
    call("GET", "/no/such/route", valid)
    call("GET", "/jobs", expired["access_token"])
    call("GET", "/jobs", opaque)  # introspected
    call("GET", "/jobs", revoked)
    call("GET", "/jobs", garbage)
    for token in forged:
        call("GET", "/jobs", token)
    call("GET", f"/jobs?access_token={valid}")
    call("GET", "/jobs", cookies={"session": valid})
    call("GET", "/metrics", admin, headers={"X-Forwarded-For": "198.51.100.1"})
    call("GET", "/jobs", f"{valid} trailing-part")
    assert statuses == [200, 400, 404, 404, 401, 200, 401, 401, 401, 401, 401, 401, 200, 401]

    gone, revoked_at_issuer = logout(url)
    assert gone is not None and revoked_at_issuer
    served.stop()

    service_lines = [json.loads(line) for line in served.output().splitlines()
                     if line.startswith("{")]
    client_lines = [json.loads(line) for line in client_log.getvalue().splitlines()]
    loggers = {line["logger"] for line in service_lines}
    assert {"uvicorn.error", "httpx", "innerspace.access"} <= loggers, loggers
    assert any(line["level"] == "DEBUG" for line in service_lines)
    assert any(line["logger"] == "httpx" for line in client_lines), "the login's requests"
    owners = {line.get("owner") for line in service_lines
              if line["logger"] == "innerspace.access"}
    assert {"alice", OPAQUE_CLIENT, "root"} <= owners
    everything = served.output() + client_log.getvalue()
    leaked = [secret[:12] + "..." for secret in secrets if secret and secret in everything]
    assert leaked == [], "secrets in the logs"
