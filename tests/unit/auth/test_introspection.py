"""Opaque tokens checked at the issuer's introspection endpoint (RFC 7662): as this
service's client, active answers reused briefly and never past exp, each misfit refused."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest

from innerspace.auth import Authenticator, Caller
from innerspace.errors import InvalidToken, Unavailable
from tests.unit.auth.fake_issuer import ISSUER, FakeIssuer, Key, oidc_auth

TOKEN = "opaque-0123456789"


@pytest.fixture(scope="module")
def key() -> Key:
    return Key.ec("ec-1")


def introspecting(fake: FakeIssuer, now: list[float] | None = None,
                  **settings: Any) -> Authenticator:
    auth = oidc_auth(introspection=True, client_id="innerspace", client_secret="svc-secret",
                     admin_groups=["admins"], **settings)
    clock = (lambda: now[0]) if now else time.time
    return Authenticator(auth, clock=clock, transport=fake.transport())


def who(authenticator: Authenticator, token: str = TOKEN) -> Caller:
    return asyncio.run(authenticator.authenticate(f"Bearer {token}", None, {}))


# Far from now either way: the answers are made when the tests are collected, which may be
# many minutes before they run.
YEARS = 10 * 365 * 86400


def active(**claims: Any) -> dict[str, Any]:
    return {"active": True, "sub": "alice", "iss": ISSUER, "aud": "innerspace",
            "groups": ["admins"], "exp": int(time.time()) + YEARS, **claims}


def test_an_active_token_names_its_caller(key: Key) -> None:
    fake = FakeIssuer([key], introspected={TOKEN: active()})
    assert who(introspecting(fake)) == Caller("alice", frozenset({"admins"}), admin=True,
                                              how="introspection")
    expected = base64.b64encode(b"innerspace:svc-secret").decode()
    assert fake.introspection_auth == [f"Basic {expected}"]


def test_answers_are_reused_briefly_never_past_exp(key: Key) -> None:
    now = [time.time()]
    fake = FakeIssuer([key], introspected={TOKEN: active(exp=int(now[0]) + 100)})
    authenticator = introspecting(fake, now, introspection_cache=60)
    for _ in range(3):
        who(authenticator)
    assert fake.fetches["introspection"] == 1
    now[0] += 61  # past introspection_cache
    who(authenticator)
    assert fake.fetches["introspection"] == 2
    now[0] += 40  # past exp, though the last answer is 40 s old
    assert authenticator.cache.get(TOKEN) is None


def test_a_revoked_token_is_refused(key: Key) -> None:
    fake = FakeIssuer([key], introspected={TOKEN: active()})
    authenticator = introspecting(fake, introspection_cache=0)
    assert who(authenticator).owner == "alice"
    fake.introspected[TOKEN] = {"active": False}
    with pytest.raises(InvalidToken, match="not active"):
        who(authenticator)


@pytest.mark.parametrize(("answer", "reason"), [
    ({"active": "true"}, "not active"),
    (active(iss="https://elsewhere.example.org"), "another issuer"),
    (active(aud=["other"]), "meant for another service"),
    (active(exp=int(time.time()) - YEARS), "has expired"),
    (active(nbf=int(time.time()) + YEARS), "not valid yet"),
    (active(sub=None, client_id=None), "names no owner"),
])
def test_misfit_answers_are_refused(key: Key, answer: dict[str, Any], reason: str) -> None:
    fake = FakeIssuer([key], introspected={TOKEN: answer})
    with pytest.raises(InvalidToken, match=reason):
        who(introspecting(fake))


def test_jwts_are_still_checked_locally(key: Key) -> None:
    fake = FakeIssuer([key])
    assert who(introspecting(fake), fake.token()).owner == "alice"
    assert fake.fetches["introspection"] == 0


def test_an_issuer_that_is_down_is_503(key: Key) -> None:
    fake = FakeIssuer([key], down=True)
    with pytest.raises(Unavailable) as caught:
        who(introspecting(fake))
    assert caught.value.status == 503
