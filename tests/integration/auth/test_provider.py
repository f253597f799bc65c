"""The test OpenID provider and its harness, checked as innerspace will use them: what its
discovery document names, JWTs that verify against its JWKS with PyJWT, the device flow
as the CLI will run it (also from another process), refresh, the portal's code flow with
PKCE, key rotation, the skewed clock, opaque tokens through introspection and revocation."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.oidc_node import ProviderError
from tests.support.oidc_provider import (
    CLI_CLIENT,
    DEVICE_GRANT,
    OPAQUE_CLIENT,
    PORTAL_CLIENT,
    SERVICE_CLIENT,
    OAuthError,
    OIDCProvider,
)

try:
    # PyJWT (with cryptography) is what innerspace will validate tokens with; it joins
    # requirements.lock with issue 12: until then a venv without it skips this module.
    import jwt  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the venv
    pytest.skip("PyJWT is not installed (pip install 'pyjwt[crypto]')", allow_module_level=True)

PORTAL_REDIRECT = "http://127.0.0.1:9/portal/callback"  # as the session provider is set up


def header_of(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


def verified(provider: OIDCProvider, token: str, audience: str = "innerspace",
             algorithm: str = "RS256") -> dict[str, Any]:
    """The claims of a JWT access token, checked as a resource server checks them: signature
    by the JWKS key its kid names, algorithm, issuer, audience, exp, nbf and iat."""
    key = jwt.PyJWKSet.from_dict(provider.jwks())[header_of(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=[algorithm], audience=audience, issuer=provider.issuer,
        options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud"]})
    return claims


# -- what it publishes --------------------------------------------------------------------


def test_discovery_names_the_endpoints_innerspace_needs(oidc_provider: OIDCProvider) -> None:
    document = oidc_provider.discovery()
    issuer = oidc_provider.issuer
    assert issuer.startswith("http://127.0.0.1:")
    assert document["issuer"] == issuer
    assert {name: document[name] for name in (
        "device_authorization_endpoint", "token_endpoint", "jwks_uri",
        "introspection_endpoint", "revocation_endpoint", "authorization_endpoint")} == {
        "device_authorization_endpoint": f"{issuer}/device/auth",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "introspection_endpoint": f"{issuer}/token/introspection",
        "revocation_endpoint": f"{issuer}/token/revocation",
        "authorization_endpoint": f"{issuer}/auth",
    }
    assert {DEVICE_GRANT, "client_credentials", "refresh_token", "authorization_code"} <= set(
        document["grant_types_supported"])
    assert document["code_challenge_methods_supported"] == ["S256"]


def test_the_jwks_publishes_an_rs256_and_an_es256_key(oidc_provider: OIDCProvider) -> None:
    keys = oidc_provider.jwks()["keys"]
    assert sorted((k["kty"], k["alg"], k["use"]) for k in keys) == [
        ("EC", "ES256", "sig"), ("RSA", "RS256", "sig")]
    assert not any("d" in k for k in keys)  # public halves only
    assert sorted(k["kid"] for k in keys) == sorted(oidc_provider.key_state().current)


# -- client credentials -------------------------------------------------------------------


def test_a_client_credentials_jwt_verifies_against_the_jwks(
        oidc_provider: OIDCProvider) -> None:
    answer = oidc_provider.client_credentials_token(SERVICE_CLIENT, "innerspace")
    token = answer["access_token"]
    assert answer["token_type"] == "Bearer"
    assert header_of(token)["typ"] == "at+jwt"
    claims = verified(oidc_provider, token)
    assert claims["sub"] == SERVICE_CLIENT
    assert claims["client_id"] == SERVICE_CLIENT
    assert claims["groups"] == ["innerspace-services"]
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == "innerspace"
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == answer["expires_in"] == 300


def test_an_audience_can_have_es256_tokens(oidc_provider: OIDCProvider) -> None:
    token = oidc_provider.client_credentials_token(audience="innerspace-es256")["access_token"]
    assert header_of(token)["alg"] == "ES256"
    assert verified(oidc_provider, token, "innerspace-es256", "ES256")["aud"] == \
        "innerspace-es256"
    with pytest.raises(jwt.InvalidAudienceError):
        verified(oidc_provider, token, "innerspace", "ES256")


def test_unknown_audiences_and_wrong_secrets_are_refused(oidc_provider: OIDCProvider) -> None:
    with pytest.raises(OAuthError) as unknown:
        oidc_provider.client_credentials_token(audience="elsewhere")
    assert unknown.value.error == "invalid_target"
    forged = httpx.post(oidc_provider.endpoint("token"), auth=(SERVICE_CLIENT, "not-the-secret"),
                        data={"grant_type": "client_credentials",
                              "resource": oidc_provider.resource("innerspace")})
    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_client")


# -- the device flow ----------------------------------------------------------------------


def test_a_device_login_gives_the_users_groups_and_a_refresh_token(
        oidc_provider: OIDCProvider) -> None:
    answer = oidc_provider.device_login("alice", "alice-password")
    claims = verified(oidc_provider, answer["access_token"])
    assert (claims["sub"], claims["groups"], claims["client_id"]) == (
        "alice", ["astro"], CLI_CLIENT)
    identity = jwt.decode(answer["id_token"], options={"verify_signature": False})
    assert (identity["sub"], identity["aud"]) == ("alice", CLI_CLIENT)

    refreshed = oidc_provider.refresh(answer["refresh_token"])
    again = verified(oidc_provider, refreshed["access_token"])
    assert (again["sub"], again["groups"]) == ("alice", ["astro"])
    assert again["jti"] != claims["jti"]
    # A public client's refresh token is rotated: the old one is spent.
    assert refreshed["refresh_token"] != answer["refresh_token"]
    with pytest.raises(OAuthError) as spent:
        oidc_provider.refresh(answer["refresh_token"])
    assert spent.value.error == "invalid_grant"


def test_the_admin_group_reaches_the_token(oidc_provider: OIDCProvider) -> None:
    answer = oidc_provider.device_login("root", "root-password", scope="openid")
    assert verified(oidc_provider, answer["access_token"])["groups"] == ["innerspace-admins"]
    assert "refresh_token" not in answer  # no offline_access asked for


def test_a_wrong_password_leaves_the_device_waiting(oidc_provider: OIDCProvider) -> None:
    device = oidc_provider.start_device_authorization()
    with pytest.raises(ProviderError, match="wrong username or password"):
        oidc_provider.approve_device(device.user_code, "alice", "bob-password")
    with pytest.raises(ProviderError, match="the code was not found: BCDF-GHJK"):
        oidc_provider.approve_device("BCDF-GHJK", "alice", "alice-password")  # no such code
    with pytest.raises(OAuthError) as pending:
        oidc_provider.token_request(CLI_CLIENT, grant_type=DEVICE_GRANT,
                                    device_code=device.device_code)
    assert pending.value.error == "authorization_pending"


POLLING_PROGRAM = textwrap.dedent("""
    import sys, time, httpx
    device_endpoint, token_endpoint = sys.argv[1:]
    start = httpx.post(device_endpoint, data={"client_id": "innerspace-cli",
                                              "scope": "openid offline_access"}).json()
    print(start["user_code"], flush=True)
    while True:
        time.sleep(start["interval"])
        answer = httpx.post(token_endpoint, data={
            "client_id": "innerspace-cli", "device_code": start["device_code"],
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code"}).json()
        if answer.get("error") != "authorization_pending":
            print(answer.get("access_token") or answer, flush=True)
            break
""")


def test_a_device_flow_another_program_started_is_approved(
        oidc_provider: OIDCProvider) -> None:
    # As the CLI will: another process prints a user code and polls; the test approves it.
    with subprocess.Popen([sys.executable, "-c", POLLING_PROGRAM,
                           oidc_provider.endpoint("device_authorization"),
                           oidc_provider.endpoint("token")],
                          stdout=subprocess.PIPE, text=True) as program:
        assert program.stdout is not None
        user_code = program.stdout.readline().strip()
        assert len(user_code) == 9 and user_code[4] == "-"
        oidc_provider.approve_device(user_code, "bob", "bob-password")
        token = program.stdout.readline().strip()
        assert program.wait(60) == 0
    claims = verified(oidc_provider, token)
    assert (claims["sub"], claims["groups"]) == ("bob", ["astro"])


# -- the portal ---------------------------------------------------------------------------


def test_the_portal_signs_in_with_a_code_and_pkce(oidc_provider: OIDCProvider) -> None:
    answer = oidc_provider.portal_login("bob", "bob-password", PORTAL_REDIRECT,
                                        scope="openid offline_access")
    claims = verified(oidc_provider, answer["access_token"])
    assert (claims["sub"], claims["client_id"]) == ("bob", PORTAL_CLIENT)
    assert verified(oidc_provider, oidc_provider.refresh(
        answer["refresh_token"], PORTAL_CLIENT)["access_token"])["sub"] == "bob"


# -- key rotation and the clock -----------------------------------------------------------


def test_key_rotation_signs_with_a_new_published_key(
        make_oidc_provider: Callable[..., OIDCProvider]) -> None:
    provider = make_oidc_provider()
    before = provider.client_credentials_token()["access_token"]
    first = header_of(before)["kid"]
    device = provider.start_device_authorization()  # a login in progress carries over

    rotated = provider.rotate_keys()
    after = provider.client_credentials_token()["access_token"]
    second = header_of(after)["kid"]
    assert second != first
    assert second in rotated.current
    assert {k["kid"] for k in provider.jwks()["keys"]} == set(rotated.published)
    assert first in rotated.published  # tokens it signed still verify
    assert verified(provider, before)["sub"] == verified(provider, after)["sub"]

    provider.approve_device(device.user_code, "alice", "alice-password")
    assert header_of(provider.poll_device_token(device)["access_token"])["kid"] == second

    provider.rotate_keys()  # the second rotation drops the first key
    published = {k["kid"] for k in provider.jwks()["keys"]}
    assert first not in published and second in published
    with pytest.raises(KeyError):
        verified(provider, before)
    assert provider.rotate_keys(retain=0).published == provider.key_state().current


def test_the_token_clock_gives_expired_and_future_tokens(oidc_provider: OIDCProvider) -> None:
    with oidc_provider.token_clock(-3600):
        expired = oidc_provider.client_credentials_token()["access_token"]
    with oidc_provider.token_clock(3600):
        future = oidc_provider.client_credentials_token()["access_token"]
    assert oidc_provider.key_state().clock_offset == 0
    with pytest.raises(jwt.ExpiredSignatureError):
        verified(oidc_provider, expired)
    with pytest.raises(jwt.ImmatureSignatureError):
        verified(oidc_provider, future)
    verified(oidc_provider, oidc_provider.client_credentials_token()["access_token"])


def test_admin_routes_need_the_secret(oidc_provider: OIDCProvider) -> None:
    url = f"{oidc_provider.issuer}/_test/keys/rotate"
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, headers={"Authorization": "Bearer guess"}).status_code == 401


# -- opaque tokens ------------------------------------------------------------------------


def test_an_opaque_token_introspects_as_active_until_revoked(
        oidc_provider: OIDCProvider) -> None:
    token = oidc_provider.client_credentials_token(OPAQUE_CLIENT)["access_token"]
    assert "." not in token  # not a JWT
    answer = oidc_provider.introspect(token)
    assert answer["active"] is True
    assert {name: answer[name] for name in ("client_id", "aud", "groups", "iss")} == {
        "client_id": OPAQUE_CLIENT, "aud": "innerspace", "groups": ["innerspace-services"],
        "iss": oidc_provider.issuer}
    oidc_provider.revoke(token, OPAQUE_CLIENT)
    assert oidc_provider.introspect(token) == {"active": False}
    assert oidc_provider.introspect("not-a-token") == {"active": False}


# -- failures are explained ----------------------------------------------------------------


def test_a_provider_that_cannot_start_says_why(
        make_oidc_provider: Callable[..., OIDCProvider]) -> None:
    with pytest.raises(ProviderError, match="expected NAME or NAME=RS256"):
        make_oidc_provider(audiences=("innerspace=HS256",))
