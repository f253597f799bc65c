"""Key rotation at the real provider: a token signed by the new key is accepted by a service
that had cached the old keys, and tokens naming unknown keys make the service fetch the
issuer's keys at most once per interval, however many arrive."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from tests.support.fake_service import FakeEngineService
from tests.support.oidc_provider import OIDCProvider
from tests.support.oidc_service import assert_challenged, forge, jwks_fetches, oidc_settings, parts


@pytest.fixture
def provider(make_oidc_provider: Callable[..., OIDCProvider]) -> OIDCProvider:
    """A provider of this test's own: rotating keys would disturb the session's."""
    return make_oidc_provider()


def status(service: FakeEngineService, token: str) -> int:
    with service.client(token) as client:
        return client.get("/jobs").status_code


def kid_of(token: str) -> str:
    head = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"])


def test_a_new_key_is_fetched_when_a_token_names_it(
        provider: OIDCProvider, make_auth_service: Callable[..., FakeEngineService]) -> None:
    service = make_auth_service(**oidc_settings(provider, jwks_refetch_interval=0))
    old = provider.client_credentials_token()["access_token"]
    assert status(service, old) == 200 and jwks_fetches(provider) == 1
    state = provider.rotate_keys(retain=1)
    new = provider.client_credentials_token()["access_token"]
    assert kid_of(new) in state.current and kid_of(new) != kid_of(old)
    assert status(service, new) == 200
    assert jwks_fetches(provider) == 2
    assert status(service, old) == 200  # the old key is still published
    provider.rotate_keys(retain=0)  # the old keys go
    newest = provider.client_credentials_token()["access_token"]
    assert status(service, newest) == 200
    assert status(service, old) == 401  # new keys forget the tokens cached with the old


def test_unknown_keys_are_refetched_at_most_once_per_interval(
        provider: OIDCProvider, make_auth_service: Callable[..., FakeEngineService]) -> None:
    service = make_auth_service(**oidc_settings(provider, jwks_refetch_interval=3600))
    token = provider.client_credentials_token()["access_token"]
    assert status(service, token) == 200 and jwks_fetches(provider) == 1
    header, claims = parts(token)
    for number in range(30):  # a flood of made-up key ids
        made_up = forge({**header, "kid": f"made-up-{number}"}, claims, b"x")
        with service.client(made_up) as client:
            assert_challenged(client.get("/jobs"), service.url, provider,
                              "the token is signed with a key the issuer does not publish")
    provider.rotate_keys()
    rotated = provider.client_credentials_token()["access_token"]
    assert status(service, rotated) == 401  # within the interval: not fetched yet
    assert jwks_fetches(provider) == 1
