"""The stored logins (client/tokens.py): a file only its user can read, written at once,
keyed by service URL; tokens refreshed before they expire or when the service refuses them,
once, and a login that cannot be refreshed says to log in again. `Client(url)` uses the
login stored for its URL unless given a token."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import httpx
import pytest

from innerspace.client import Client, ClientError
from innerspace.client.tokens import (
    Login,
    LoginAuth,
    LoginExpired,
    LoginSession,
    TokenStore,
    config_dir,
    service_key,
)
from tests.support.fake_issuer import CLIENT_ID, ISSUER, SERVICE, FakeIssuer


def a_login(fake: FakeIssuer, expires_in: float = 300) -> Login:
    answer = fake.issue()
    return Login(access_token=answer["access_token"], refresh_token=answer["refresh_token"],
                 issuer=ISSUER, client_id=CLIENT_ID, token_endpoint=f"{ISSUER}/token",
                 expires_at=time.time() + expires_in, lifetime=300)


def test_the_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "config" / "innerspace" / "tokens.json")
    store.put("HTTPS://Service.Example/", a_login(FakeIssuer()))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert [p.name for p in store.path.parent.iterdir()] == ["tokens.json"], "no leftovers"
    found = store.get(SERVICE)
    assert found is not None and found.access_token == "access-1"
    assert service_key("https://SERVICE.example/path/") == "https://service.example/path"
    store.put("https://other.example", a_login(FakeIssuer()))
    removed = store.remove(SERVICE)
    assert removed is not None and store.get(SERVICE) is None
    assert store.get("https://other.example") is not None


def test_a_file_others_can_read_or_a_broken_one_is_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    store.put(SERVICE, a_login(FakeIssuer()))
    store.path.chmod(0o644)
    with pytest.raises(ClientError, match=r"can be read by other users \(mode 0644\)"):
        store.get(SERVICE)
    store.path.chmod(0o600)
    store.path.write_text("{not json")
    with pytest.raises(ClientError, match="cannot read the stored logins") as refused:
        store.get(SERVICE)
    assert "access-1" not in str(refused.value)


def test_the_default_place_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_dir() == tmp_path / "innerspace"
    assert TokenStore().path == tmp_path / "innerspace" / "tokens.json"


def test_a_token_about_to_expire_is_refreshed_first(tmp_path: Path) -> None:
    fake = FakeIssuer()
    store = TokenStore(tmp_path / "tokens.json")
    store.put(SERVICE, a_login(fake, expires_in=10))  # under a minute left: refresh now
    session = LoginSession.stored(SERVICE, store)
    assert session is not None
    session.transport = fake.transport()
    assert session.access_token() == "access-2"
    stored = store.get(SERVICE)
    assert stored is not None and stored.refresh_token == "refresh-2", "the rotated one kept"
    assert session.access_token() == "access-2", "fresh now: no second refresh"


def test_a_refused_token_is_refreshed_once_and_the_request_sent_again(tmp_path: Path) -> None:
    fake = FakeIssuer()
    store = TokenStore(tmp_path / "tokens.json")
    store.put(SERVICE, a_login(fake))
    fake.issue()  # the service now takes only a newer token (as if the first had expired)
    fake.refresh_tokens.add("refresh-1")
    session = LoginSession.stored(SERVICE, store)
    assert session is not None
    session.transport = fake.transport()
    with httpx.Client(transport=fake.transport(), auth=LoginAuth(session)) as http:
        assert http.get(f"{SERVICE}/jobs").status_code == 200
    sent = [url for method, url, _ in fake.requests]
    assert sent == [f"{SERVICE}/jobs", f"{ISSUER}/token", f"{SERVICE}/jobs"]


def test_a_login_that_cannot_be_refreshed_says_to_log_in_again(tmp_path: Path) -> None:
    fake = FakeIssuer()
    store = TokenStore(tmp_path / "tokens.json")
    store.put(SERVICE, a_login(fake, expires_in=1))
    fake.refresh_tokens.clear()  # revoked at the issuer
    session = LoginSession.stored(SERVICE, store)
    assert session is not None
    session.transport = fake.transport()
    with pytest.raises(LoginExpired, match=f"run `innerspace login --url {SERVICE}`") as expired:
        session.access_token()
    assert "refresh-1" not in str(expired.value)


def test_another_process_s_refresh_is_used(tmp_path: Path) -> None:
    fake = FakeIssuer()
    store = TokenStore(tmp_path / "tokens.json")
    store.put(SERVICE, a_login(fake, expires_in=1))
    session = LoginSession.stored(SERVICE, store)
    assert session is not None
    session.transport = fake.transport()
    store.put(SERVICE, a_login(fake))  # meanwhile, another process refreshed it
    assert session.access_token() == "access-2"
    assert fake.requests == [], "no refresh token spent twice"


def test_the_client_uses_the_stored_login_unless_given_a_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("INNERSPACE_TOKEN", raising=False)
    TokenStore().put(SERVICE, a_login(FakeIssuer()))
    with Client(SERVICE + "/") as stored:
        assert isinstance(stored._http.auth, LoginAuth)
        assert "authorization" not in stored._http.headers
    with Client(SERVICE, token="explicit") as given:
        assert not isinstance(given._http.auth, LoginAuth)
        assert given._http.headers["authorization"] == "Bearer explicit"
    monkeypatch.setenv("INNERSPACE_TOKEN", "from-env")
    with Client(SERVICE) as env:
        assert env._http.headers["authorization"] == "Bearer from-env"
    with Client("https://elsewhere.example") as anonymous:
        assert not isinstance(anonymous._http.auth, LoginAuth)
    assert os.environ["INNERSPACE_TOKEN"] == "from-env"
