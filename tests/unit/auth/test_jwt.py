"""JWT access tokens through the Authenticator, against a stand-in issuer: what is accepted
(owner, groups, admin), and each forgery or misfit refused with its reason (the real
provider: tests/integration/auth/test_tokens.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from innerspace.auth import Authenticator, Caller
from innerspace.config import Auth
from innerspace.errors import InvalidToken, NotAuthenticated
from tests.unit.auth.fake_issuer import ISSUER, FakeIssuer, Key, oidc_auth


@pytest.fixture(scope="module")
def rsa_key() -> Key:
    return Key.rsa("rsa-1")


@pytest.fixture(scope="module")
def ec_key() -> Key:
    return Key.ec("ec-1")


@pytest.fixture
def issuer(rsa_key: Key, ec_key: Key) -> FakeIssuer:
    return FakeIssuer([rsa_key, ec_key])


def authenticate(issuer: FakeIssuer, token: str, auth: Auth | None = None) -> Caller:
    authenticator = Authenticator(auth or oidc_auth(), transport=issuer.transport())
    return asyncio.run(authenticator.authenticate(f"Bearer {token}", None, {}))


def refused(issuer: FakeIssuer, token: str, auth: Auth | None = None) -> str:
    with pytest.raises(InvalidToken) as caught:
        authenticate(issuer, token, auth)
    assert token not in caught.value.message
    return caught.value.message


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS in compact form with any header, made by hand (PyJWT refuses to make these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(signature)}"


def good_claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": "innerspace", "sub": "mallory", "groups": ["admins"],
            "iat": now, "nbf": now, "exp": now + 300}


# -- accepted ------------------------------------------------------------------------------


def test_a_valid_token_names_owner_and_groups(issuer: FakeIssuer) -> None:
    caller = authenticate(issuer, issuer.token(groups=["astro", "radio"]))
    assert caller == Caller("alice", frozenset({"astro", "radio"}), admin=False, how="oidc")


def test_es256_tokens_are_accepted_too(issuer: FakeIssuer, ec_key: Key) -> None:
    assert authenticate(issuer, issuer.token(ec_key)).owner == "alice"


def test_admin_groups_make_an_admin(issuer: FakeIssuer) -> None:
    auth = oidc_auth(admin_groups=["innerspace-admins"])
    caller = authenticate(issuer, issuer.token(sub="root", groups=["innerspace-admins"]), auth)
    assert (caller.owner, caller.admin) == ("root", True)
    assert authenticate(issuer, issuer.token(groups=["astro"]), auth).admin is False


def test_groups_as_a_string_and_other_claims(issuer: FakeIssuer) -> None:
    auth = oidc_auth(owner_claim="preferred_username", groups_claim="roles")
    caller = authenticate(issuer, issuer.token(preferred_username="ada", roles="a b,c"), auth)
    assert (caller.owner, caller.groups) == ("ada", frozenset({"a", "b", "c"}))


def test_a_client_credentials_token_is_owned_by_its_client(issuer: FakeIssuer) -> None:
    assert authenticate(issuer, issuer.token(sub=None, client_id="pipeline")).owner == \
        "pipeline"


def test_one_of_several_audiences_is_enough(issuer: FakeIssuer) -> None:
    auth = oidc_auth(audience=["other", "innerspace"])
    assert authenticate(issuer, issuer.token(aud=["x", "innerspace"]), auth).owner == "alice"


def test_the_leeway_forgives_a_little_clock_skew(issuer: FakeIssuer) -> None:
    now = int(time.time())
    assert authenticate(issuer, issuer.token(exp=now - 10)).owner == "alice"  # leeway 30 s
    assert refused(issuer, issuer.token(exp=now - 10), oidc_auth(leeway=0)) == \
        "the token has expired"


def test_a_key_without_alg_verifies_its_family(rsa_key: Key) -> None:
    issuer = FakeIssuer([rsa_key], declare_alg=False)
    ps256 = Key(rsa_key.kid, "PS256", rsa_key.private)
    assert authenticate(issuer, issuer.token(ps256)).owner == "alice"
    es256 = issuer.token(Key.ec(rsa_key.kid))
    assert refused(issuer, es256) == \
        "the token's algorithm ES256 is not that of the key that signed it"


# -- refused, each with its reason ---------------------------------------------------------


@pytest.mark.parametrize(("claims", "reason"), [
    ({"exp": int(time.time()) - 3600}, "the token has expired"),
    ({"nbf": int(time.time()) + 86400 * 3650}, "the token is not valid yet (nbf or iat)"),
    ({"iat": int(time.time()) + 86400 * 3650}, "the token is not valid yet (nbf or iat)"),
    ({"iat": "yesterday"}, "the token's iat is not a time"),
    ({"aud": "another-service"}, "the token is meant for another service (aud)"),
    ({"iss": "https://elsewhere.example.org"}, "the token comes from another issuer (iss)"),
    ({"exp": None}, "the token lacks a required claim (exp, iss, aud)"),
    ({"aud": None}, "the token lacks a required claim (exp, iss, aud)"),
    ({"sub": None}, "the token's sub claim names no owner"),
    ({"sub": "line\nbreak"}, "the owner in the token's sub claim is empty, longer than 255 "
                             "characters or not printable"),
])
def test_misfit_claims_are_refused(issuer: FakeIssuer, claims: dict[str, Any],
                                   reason: str) -> None:
    assert refused(issuer, issuer.token(**claims)) == reason


def test_alg_none_is_refused(issuer: FakeIssuer) -> None:
    token = forged({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, good_claims())
    assert refused(issuer, token) == "the token's algorithm 'none' is not accepted here " \
                                     "(asymmetric signatures only)"


def test_hs256_keyed_with_the_public_key_is_refused(issuer: FakeIssuer, rsa_key: Key) -> None:
    public = rsa_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    unsigned = forged(header, good_claims()).rsplit(".", 1)[0]
    signature = hmac.new(public, unsigned.encode(), hashlib.sha256).digest()
    token = f"{unsigned}.{b64(signature)}"
    assert refused(issuer, token) == "the token's algorithm 'HS256' is not accepted here " \
                                     "(asymmetric signatures only)"
    # Even were HS256 let through the algorithm check, the RSA key would not verify it.
    with pytest.raises(ValueError):
        Auth(issuer=ISSUER, audience=["innerspace"], algorithms=["HS256"])


def test_a_token_signed_with_another_key_under_a_known_kid(issuer: FakeIssuer) -> None:
    impostor = Key.rsa("rsa-1")
    assert refused(issuer, issuer.token(impostor)) == "the token's signature does not verify"


def test_a_tampered_payload_does_not_verify(issuer: FakeIssuer) -> None:
    header, _, signature = issuer.token().split(".")
    payload = b64(json.dumps({**good_claims(), "sub": "root"}).encode())
    assert refused(issuer, f"{header}.{payload}.{signature}") == \
        "the token's signature does not verify"


@pytest.mark.parametrize("token", ["garbage.garbage.garbage", "a.b.c", "..", "e30.e30.e30",
                                   b64(b"[" * 8000) + ".e30.e30", b64(b"[1]") + ".e30.e30"])
def test_garbage_shaped_like_a_jwt_is_refused(issuer: FakeIssuer, token: str) -> None:
    assert refused(issuer, token) in ("the bearer token is not a well-formed JWT",
                                      "the token's algorithm 'None' is not accepted here "
                                      "(asymmetric signatures only)")


def test_an_opaque_token_without_introspection_is_refused(issuer: FakeIssuer) -> None:
    assert refused(issuer, "0123456789abcdef") == \
        "the bearer token is not a JWT (and opaque tokens are not introspected here)"


def test_bad_authorization_headers() -> None:
    authenticator = Authenticator(Auth(tokens={"t": "ada"}))
    for header in ("Basic YWRhOnB3", "Bearer", "Bearer  ", "t"):
        with pytest.raises(NotAuthenticated, match="use an 'Authorization: Bearer <token>'"):
            asyncio.run(authenticator.authenticate(header, None, {}))
    with pytest.raises(InvalidToken, match="not one token of at most 16384 characters"):
        asyncio.run(authenticator.authenticate("Bearer " + "x" * 20000, None, {}))
    with pytest.raises(InvalidToken, match="not one token"):
        asyncio.run(authenticator.authenticate("Bearer a b", None, {}))


# -- the token cache -------------------------------------------------------------------------


def test_a_validated_token_is_remembered_until_it_expires(issuer: FakeIssuer) -> None:
    now = [time.time()]
    authenticator = Authenticator(oidc_auth(leeway=0), clock=lambda: now[0],
                                  transport=issuer.transport())
    token = issuer.token(exp=int(now[0]) + 60)

    def who() -> str | None:
        return asyncio.run(authenticator.authenticate(f"Bearer {token}", None, {})).owner

    assert who() == "alice" and len(authenticator.cache) == 1
    now[0] += 59
    assert authenticator.cache.get(token) is not None and who() == "alice"
    now[0] += 2  # past exp: forgotten
    assert authenticator.cache.get(token) is None and len(authenticator.cache) == 0


def test_new_keys_empty_the_cache(issuer: FakeIssuer, rsa_key: Key) -> None:
    authenticator = Authenticator(oidc_auth(jwks_refetch_interval=0),
                                  transport=issuer.transport())

    async def scenario() -> None:
        await authenticator.authenticate(f"Bearer {issuer.token()}", None, {})
        assert len(authenticator.cache) == 1
        issuer.keys.append(Key.ec("ec-2"))
        await authenticator.authenticate(f"Bearer {issuer.token(issuer.keys[-1])}", None, {})

    asyncio.run(scenario())
    assert issuer.fetches["jwks"] == 2
    assert len(authenticator.cache) == 1  # the first token was forgotten with the old keys


def test_an_issuer_ending_in_a_slash(rsa_key: Key) -> None:
    issuer = FakeIssuer([rsa_key], url="https://iam.example.org/")
    auth = Auth(issuer="https://iam.example.org/", audience=["innerspace"])
    assert authenticate(issuer, issuer.token(), auth).owner == "alice"
    assert issuer.fetches["discovery"] == 1  # at /.well-known/..., one slash
