"""The issuer's discovery document and keys: fetched once and kept, fetched again for an
unknown key id at most once per interval, kept while the issuer is down, and a 503 (not a
401) while it has never answered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from innerspace.auth.issuer import Issuer, IssuerUnavailable
from innerspace.errors import InvalidToken, Unavailable
from tests.unit.auth.fake_issuer import FakeIssuer, Key, oidc_auth


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def keys() -> list[Key]:
    return [Key.rsa("k1"), Key.rsa("k2")]


def issuer_of(fake: FakeIssuer, clock: Clock, **settings: Any) -> Issuer:
    return Issuer(oidc_auth(**settings), clock=clock, transport=fake.transport())


def test_keys_are_fetched_once_and_kept(keys: list[Key]) -> None:
    fake, clock = FakeIssuer(keys[:1]), Clock()
    issuer = issuer_of(fake, clock)

    async def scenario() -> None:
        for _ in range(5):
            assert (await issuer.key("k1", "RS256")).jwk.key_id == "k1"
        clock.now += 3599
        await issuer.key("k1", "RS256")

    asyncio.run(scenario())
    assert fake.fetches == {"discovery": 1, "jwks": 1, "introspection": 0}
    clock.now += 2  # past jwks_max_age: fetched again
    asyncio.run(issuer.key("k1", "RS256"))
    assert fake.fetches["jwks"] == 2


def test_unknown_key_ids_refetch_at_most_once_per_interval(keys: list[Key]) -> None:
    fake, clock = FakeIssuer(keys[:1]), Clock()
    issuer = issuer_of(fake, clock, jwks_refetch_interval=60)

    async def flood() -> None:
        await issuer.key("k1", "RS256")
        for number in range(50):
            with pytest.raises(InvalidToken, match="a key the issuer does not publish"):
                await issuer.key(f"made-up-{number}", "RS256")

    asyncio.run(flood())
    assert fake.fetches["jwks"] == 1  # the first fetch is less than 60 s old
    clock.now += 60
    asyncio.run(flood())
    assert fake.fetches["jwks"] == 2  # one more, for the first made-up kid of this flood


def test_a_rotated_key_is_found_by_refetching(keys: list[Key]) -> None:
    fake, clock = FakeIssuer(keys[:1]), Clock()
    issuer = issuer_of(fake, clock, jwks_refetch_interval=30)
    asyncio.run(issuer.key("k1", "RS256"))
    fake.keys = keys[1:]  # rotated: k1 gone, k2 signs
    with pytest.raises(InvalidToken):
        asyncio.run(issuer.key("k2", "RS256"))  # the rate limit holds the refetch back
    clock.now += 30
    assert asyncio.run(issuer.key("k2", "RS256")).jwk.key_id == "k2"
    with pytest.raises(InvalidToken):
        asyncio.run(issuer.key("k1", "RS256"))  # no longer published


def test_concurrent_unknown_kids_share_one_fetch(keys: list[Key]) -> None:
    fake, clock = FakeIssuer(keys), Clock()
    issuer = issuer_of(fake, clock)

    async def many() -> list[Any]:
        return await asyncio.gather(*(issuer.key("k2", "RS256") for _ in range(20)))

    assert {key.jwk.key_id for key in asyncio.run(many())} == {"k2"}
    assert fake.fetches["jwks"] == 1


def test_an_issuer_never_reached_is_503_and_not_hammered(keys: list[Key]) -> None:
    fake, clock = FakeIssuer(keys, down=True), Clock()
    issuer = issuer_of(fake, clock)
    for _ in range(3):
        with pytest.raises(Unavailable) as caught:
            asyncio.run(issuer.key("k1", "RS256"))
        assert caught.value.status == 503 and caught.value.retry_after == 30
        assert caught.value.describe().startswith("the identity provider cannot be reached: ")
    assert fake.fetches["discovery"] == 0  # refused by the transport: counted as no answer
    fake.down = False
    clock.now += 5  # the retry interval while down
    assert asyncio.run(issuer.key("k1", "RS256")).jwk.key_id == "k1"


def test_keys_fetched_before_are_kept_while_the_issuer_is_down(keys: list[Key]) -> None:
    fake, clock = FakeIssuer(keys), Clock()
    issuer = issuer_of(fake, clock)
    asyncio.run(issuer.key("k1", "RS256"))
    fake.down = True
    clock.now += 4000  # old keys: a fetch is tried, fails, and the old keys serve
    assert asyncio.run(issuer.key("k2", "RS256")).jwk.key_id == "k2"


def test_a_discovery_document_of_another_issuer_is_refused(keys: list[Key]) -> None:
    fake, clock = FakeIssuer(keys, url="https://impostor.example.org"), Clock()
    with pytest.raises(IssuerUnavailable, match=r"names issuer 'https://impostor\.example\.org'"):
        asyncio.run(issuer_of(fake, clock).key("k1", "RS256"))


def test_only_asymmetric_signature_keys_are_used(keys: list[Key]) -> None:
    fake = FakeIssuer(keys)
    issuer = issuer_of(fake, Clock(), algorithms=["ES256"])
    asyncio.run(issuer.metadata())
    with pytest.raises(InvalidToken):
        asyncio.run(issuer.key("k1", "RS256"))  # RS256 keys are not loaded at all
    assert issuer._usable_keys({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {**keys[0].public_jwk(), "use": "enc", "kid": "enc"},
        {"kty": "RSA", "kid": "broken", "n": "AQAB"},
        "not a key"]}) == {}


def test_a_token_without_kid_needs_a_single_key(keys: list[Key]) -> None:
    one = issuer_of(FakeIssuer(keys[:1]), Clock())
    assert asyncio.run(one.key(None, "RS256")).jwk.key_id == "k1"
    two = issuer_of(FakeIssuer(keys), Clock())
    with pytest.raises(InvalidToken, match="names no signing key"):
        asyncio.run(two.key(None, "RS256"))
