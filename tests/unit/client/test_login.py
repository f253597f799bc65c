"""`innerspace login` without a network (tests/support/fake_issuer.py): the issuer and
client found in the service's metadata, the device flow polled as RFC 8628 says
(authorization_pending, slow_down, denied, expired), the login stored, and logout revoking."""

from __future__ import annotations

from pathlib import Path

import pytest

from innerspace.client import ClientError
from innerspace.client.login import (
    CLI_CLIENT_FIELD,
    DeviceCode,
    check_issuer_url,
    login,
    logout,
    user_of,
)
from innerspace.client.tokens import TokenStore
from tests.support.fake_issuer import CLIENT_ID, ISSUER, SERVICE, FakeIssuer

METADATA = {"resource": SERVICE, "authorization_servers": [ISSUER],
            CLI_CLIENT_FIELD: CLIENT_ID, "bearer_methods_supported": ["header"]}


def run_login(fake: FakeIssuer, store: TokenStore, **options: str) -> tuple[list[float],
                                                                          list[DeviceCode]]:
    waits: list[float] = []
    shown: list[DeviceCode] = []
    with fake.client() as http:
        login(SERVICE, shown.append, store=store, http=http, sleep=waits.append, **options)
    return waits, shown


def test_a_device_login_polls_as_asked_and_is_stored(tmp_path: Path) -> None:
    issuer = FakeIssuer(["authorization_pending", "slow_down", "authorization_pending"],
                        metadata=METADATA)
    store = TokenStore(tmp_path / "tokens.json")
    waits, shown = run_login(issuer, store)
    assert shown[0].user_code == "WXYZ-1234"
    assert shown[0].verification_uri_complete == f"{ISSUER}/device?user_code=WXYZ-1234"
    assert "dev-code-secret" not in repr(shown[0]), "the device code is no display matter"
    assert waits == [2, 2, 7, 7], "the interval, and 5 s more after slow_down"
    device_start = [form for method, url, form in issuer.requests if url.endswith("/auth")]
    assert device_start == [{"client_id": [CLIENT_ID], "scope": ["openid offline_access"]}]
    stored = store.get(SERVICE + "/")
    assert stored is not None and stored.access_token == "access-1"
    assert stored.refresh_token == "refresh-1" and stored.user == "alice"
    assert stored.token_endpoint == f"{ISSUER}/token" and stored.client_id == CLIENT_ID
    assert stored.revocation_endpoint == f"{ISSUER}/revoke"
    assert "access-1" not in repr(stored) and "refresh-1" not in repr(stored)


def test_issuer_and_client_may_be_given(tmp_path: Path) -> None:
    issuer = FakeIssuer(metadata=None)  # the service publishes no metadata
    store = TokenStore(tmp_path / "tokens.json")
    with pytest.raises(ClientError, match=r"publishes no /\.well-known/oauth-protected-resource"):
        run_login(issuer, store)
    run_login(issuer, store, issuer=ISSUER, client_id="my-cli", scope="openid")
    device_start = [form for method, url, form in issuer.requests if url.endswith("/auth")]
    assert device_start == [{"client_id": ["my-cli"], "scope": ["openid"]}]
    assert store.get(SERVICE) is not None


@pytest.mark.parametrize(("answer", "message"), [
    ("access_denied", "the sign-in was refused"),
    ("expired_token", "the code expired"),
    ("invalid_client", "refused the login: invalid_client"),
])
def test_a_refused_login_says_why_and_stores_nothing(tmp_path: Path, answer: str,
                                                     message: str) -> None:
    issuer = FakeIssuer(["authorization_pending", answer], metadata=METADATA)
    store = TokenStore(tmp_path / "tokens.json")
    with pytest.raises(ClientError, match=message):
        run_login(issuer, store)
    assert store.get(SERVICE) is None


def test_an_issuer_is_checked(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    impostor = FakeIssuer(metadata=METADATA, discovery_issuer="https://evil.example")
    with pytest.raises(ClientError, match="names another issuer"):
        run_login(impostor, store)
    no_issuer = FakeIssuer(metadata={**METADATA, "authorization_servers": []})
    with pytest.raises(ClientError, match="names no issuer"):
        run_login(no_issuer, store)
    with pytest.raises(ClientError, match="not an https URL"):
        check_issuer_url("http://issuer.example")
    assert check_issuer_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000"


def test_logout_forgets_and_revokes(tmp_path: Path) -> None:
    issuer = FakeIssuer(metadata=METADATA)
    store = TokenStore(tmp_path / "tokens.json")
    run_login(issuer, store)
    with issuer.client() as http:
        gone, revoked = logout(SERVICE, store, http)
        assert gone is not None and revoked
        assert issuer.revoked == {"refresh-1", "access-1"}
        assert store.get(SERVICE) is None
        assert logout(SERVICE, store, http) == (None, False)


def test_the_user_is_read_from_the_id_token_for_display_only() -> None:
    assert user_of({"id_token": "e30.eyJzdWIiOiAidTEifQ.x"}) == "u1"
    assert user_of({"id_token": "not a jwt"}) is None and user_of({}) is None
