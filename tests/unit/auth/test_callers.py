"""From claims, development tokens and proxy headers to callers: owners, groups, admins;
which peers count as trusted proxies; the token cache's bounds."""

from __future__ import annotations

import asyncio

import pytest

from innerspace.auth import ANONYMOUS, Authenticator, Caller
from innerspace.auth.cache import TokenCache
from innerspace.auth.claims import caller_from_claims, group_names
from innerspace.auth.proxy import TrustedProxies
from innerspace.config import Auth
from innerspace.errors import InvalidToken, NotAuthenticated

HEADERS = {"x-auth-request-user": "ada", "x-auth-request-groups": "astro, innerspace-admins"}


def test_the_caller_type() -> None:
    assert Caller(None) == ANONYMOUS and not ANONYMOUS.authenticated
    assert ANONYMOUS.how == "anonymous" and ANONYMOUS.groups == frozenset()
    assert Caller("ada", how="token").authenticated


@pytest.mark.parametrize(("value", "groups"), [
    (["a", "b"], {"a", "b"}), ("a b,c  d", {"a", "b", "c", "d"}), ("", set()), (None, set()),
    ([1, "x", None], {"x"}), ({"a": 1}, set()), (["g"] * 2000, set()), (["x" * 300], set()),
])
def test_group_names(value: object, groups: set[str]) -> None:
    assert group_names(value) == groups


def test_claims_to_a_caller() -> None:
    auth = Auth(admin_groups=["admins"])
    assert caller_from_claims({"sub": "ada", "groups": ["admins"]}, auth, "oidc") == \
        Caller("ada", frozenset({"admins"}), admin=True, how="oidc")
    assert caller_from_claims({"sub": 42}, auth, "oidc").owner == "42"
    for claims in ({}, {"sub": ""}, {"sub": True}, {"sub": "x" * 256}, {"sub": ["a"]}):
        with pytest.raises(InvalidToken):
            caller_from_claims(claims, auth, "oidc")


def test_development_tokens_carry_groups() -> None:
    auth = Auth(tokens={"t1": "alice", "t2": {"owner": "root", "groups": ["admins"]}},
                admin_groups=["admins"])
    authenticator = Authenticator(auth)

    def who(token: str) -> Caller:
        return asyncio.run(authenticator.authenticate(f"Bearer {token}", None, {}))

    assert who("t1") == Caller("alice", how="token")
    assert who("t2") == Caller("root", frozenset({"admins"}), admin=True, how="token")
    with pytest.raises(InvalidToken, match="not known to this service"):
        who("t3")
    with pytest.raises(NotAuthenticated, match="needs a bearer token"):
        asyncio.run(authenticator.authenticate(None, None, {}))


def test_anonymous_when_allowed() -> None:
    assert asyncio.run(Authenticator(Auth()).authenticate(None, "10.1.1.1", {})) is ANONYMOUS


@pytest.mark.parametrize(("peer", "trusted"), [
    ("127.0.0.1", True), ("::ffff:127.0.0.1", True), ("10.1.2.3", True), ("::1", True),
    ("10.2.0.1", False), ("192.168.1.1", False), ("testclient", False), (None, False),
    ("", False),
])
def test_trusted_proxies(peer: str | None, trusted: bool) -> None:
    proxies = TrustedProxies(Auth(trusted_proxies=["127.0.0.1", "10.1.0.0/16", "::1"]))
    assert proxies.trusted(peer) is trusted


def test_a_trusted_proxy_names_the_user() -> None:
    authenticator = Authenticator(Auth(trusted_proxies=["127.0.0.1"],
                                       admin_groups=["innerspace-admins"]))
    caller = asyncio.run(authenticator.authenticate(None, "127.0.0.1", HEADERS))
    assert caller == Caller("ada", frozenset({"astro", "innerspace-admins"}), admin=True,
                            how="proxy")


def test_proxy_headers_from_elsewhere_are_ignored() -> None:
    auth = Auth(trusted_proxies=["10.9.8.7"], tokens={"t": "bob"})
    authenticator = Authenticator(auth)
    with pytest.raises(NotAuthenticated, match="needs a bearer token"):
        asyncio.run(authenticator.authenticate(None, "127.0.0.1", HEADERS))
    caller = asyncio.run(authenticator.authenticate("Bearer t", "127.0.0.1", HEADERS))
    assert (caller.owner, caller.how) == ("bob", "token")


def test_a_trusted_proxy_without_a_user_leaves_the_request_to_tokens() -> None:
    authenticator = Authenticator(Auth(trusted_proxies=["127.0.0.1"], allow_anonymous=True))
    assert asyncio.run(authenticator.authenticate(None, "127.0.0.1", {})) is ANONYMOUS
    with pytest.raises(InvalidToken, match="owner in the X-Auth-Request-User header"):
        asyncio.run(authenticator.authenticate(None, "127.0.0.1",
                                               {"x-auth-request-user": "a\x00b"}))


def test_proxy_only_services_say_so() -> None:
    authenticator = Authenticator(Auth(trusted_proxies=["127.0.0.1"]))
    with pytest.raises(NotAuthenticated, match="reached through its authenticating proxy"):
        asyncio.run(authenticator.authenticate(None, "10.0.0.1", {}))


def test_the_token_cache_is_bounded_and_keyed_by_hash() -> None:
    now = [100.0]
    cache = TokenCache(2, lambda: now[0])
    for token in ("a", "b", "c"):
        cache.put(token, Caller(token), until=200)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, Caller("b"), Caller("c"))
    cache.put("d", Caller("d"), until=50)  # already expired: not kept
    assert cache.get("d") is None and len(cache) == 2
    assert all(len(key) == 32 for key in cache._entries)  # SHA-256 digests, not tokens
    TokenCache(0).put("x", Caller("x"), until=1e12)
    assert TokenCache(0).get("x") is None
