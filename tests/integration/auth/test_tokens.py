"""Bearer tokens of the real OpenID provider against an innerspace service: valid ones name
their owner and groups (admins from the admins group), opaque ones are introspected, and
every refused token - expired, not yet valid, for another audience, from another issuer,
`alg: none`, HS256 keyed with the public key, garbage - is a 401 with the challenges."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from innerspace.auth import Authenticator, Caller
from innerspace.config import Auth
from tests.support.fake_service import FakeEngineService
from tests.support.oidc_provider import OPAQUE_CLIENT, SERVICE_CLIENT, OIDCProvider
from tests.support.oidc_service import (
    alg_none,
    assert_challenged,
    hs256_with_public_key,
    oidc_settings,
)

MakeService = Callable[..., FakeEngineService]


@pytest.fixture
def service(oidc_provider: OIDCProvider, make_auth_service: MakeService) -> FakeEngineService:
    return make_auth_service(**oidc_settings(oidc_provider))


def jobs(service: FakeEngineService, token: str | None) -> httpx.Response:
    with service.client(token) as client:
        return client.get("/jobs")


def caller_of(provider: OIDCProvider, token: str, **auth: Any) -> Caller:
    """The caller a token names, by an Authenticator configured as the services here."""
    authenticator = Authenticator(Auth(**oidc_settings(provider, **auth)))
    return asyncio.run(authenticator.authenticate(f"Bearer {token}", "127.0.0.1", {}))


# -- accepted ------------------------------------------------------------------------------


def test_a_users_token_names_them_and_their_groups(oidc_provider: OIDCProvider,
                                                   service: FakeEngineService) -> None:
    token = oidc_provider.device_login("alice", "alice-password")["access_token"]
    answer = jobs(service, token)
    assert answer.status_code == 200 and answer.headers["x-vo-authenticated"] == "alice"
    assert caller_of(oidc_provider, token) == Caller("alice", frozenset({"astro"}),
                                                     admin=False, how="oidc")
    created = httpx.post(f"{service.url}/jobs", data={"app": "demo"},
                         headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 303
    owner = httpx.get(f"{created.headers['location']}/owner",
                      headers={"Authorization": f"Bearer {token}"})
    assert owner.text.strip() == "alice"


def test_the_admins_group_makes_an_admin(oidc_provider: OIDCProvider) -> None:
    token = oidc_provider.device_login("root", "root-password")["access_token"]
    assert caller_of(oidc_provider, token) == Caller(
        "root", frozenset({"innerspace-admins"}), admin=True, how="oidc")
    bob = oidc_provider.device_login("bob", "bob-password")["access_token"]
    assert caller_of(oidc_provider, bob).admin is False


def test_a_service_token_is_owned_by_its_client(oidc_provider: OIDCProvider,
                                                service: FakeEngineService) -> None:
    token = oidc_provider.client_credentials_token(SERVICE_CLIENT)["access_token"]
    assert jobs(service, token).headers["x-vo-authenticated"] == SERVICE_CLIENT
    assert caller_of(oidc_provider, token).groups == frozenset({"innerspace-services"})


def test_es256_tokens_when_the_audience_is_signed_so(oidc_provider: OIDCProvider,
                                                     make_auth_service: MakeService) -> None:
    token = oidc_provider.client_credentials_token(audience="innerspace-es256")["access_token"]
    service = make_auth_service(**oidc_settings(oidc_provider, audience=["innerspace-es256"]))
    assert jobs(service, token).status_code == 200


def test_an_opaque_token_is_introspected_until_revoked(oidc_provider: OIDCProvider,
                                                       make_auth_service: MakeService) -> None:
    service = make_auth_service(**oidc_settings(oidc_provider, introspection_cache=0))
    token = oidc_provider.client_credentials_token(OPAQUE_CLIENT)["access_token"]
    assert "." not in token
    answer = jobs(service, token)
    assert answer.status_code == 200 and answer.headers["x-vo-authenticated"] == OPAQUE_CLIENT
    assert caller_of(oidc_provider, token).how == "introspection"
    oidc_provider.revoke(token, OPAQUE_CLIENT)
    assert_challenged(jobs(service, token), service.url, oidc_provider,
                      "the token is not active (expired, revoked or unknown)")


# -- refused --------------------------------------------------------------------------------


def test_no_token_is_a_401_with_the_challenges(oidc_provider: OIDCProvider,
                                               service: FakeEngineService) -> None:
    answer = jobs(service, None)
    assert_challenged(answer, service.url, oidc_provider)
    assert answer.text == "this service needs a bearer token (Authorization: Bearer ...)\n"


def test_an_expired_token(oidc_provider: OIDCProvider, service: FakeEngineService) -> None:
    with oidc_provider.token_clock(-3600):
        token = oidc_provider.client_credentials_token()["access_token"]
    assert_challenged(jobs(service, token), service.url, oidc_provider,
                      "the token has expired")


def test_a_token_not_valid_yet(oidc_provider: OIDCProvider, service: FakeEngineService) -> None:
    with oidc_provider.token_clock(3600):
        token = oidc_provider.client_credentials_token()["access_token"]
    assert_challenged(jobs(service, token), service.url, oidc_provider,
                      "the token is not valid yet (nbf or iat)")


def test_a_token_for_another_audience(oidc_provider: OIDCProvider,
                                      service: FakeEngineService) -> None:
    token = oidc_provider.client_credentials_token(audience="innerspace-es256")["access_token"]
    assert_challenged(jobs(service, token), service.url, oidc_provider,
                      "the token is meant for another service (aud)")


def test_a_token_of_another_issuer(oidc_provider: OIDCProvider, service: FakeEngineService,
                                   make_oidc_provider: Callable[..., OIDCProvider]) -> None:
    other = make_oidc_provider()
    token = other.client_credentials_token()["access_token"]
    assert_challenged(jobs(service, token), service.url, oidc_provider,
                      "the token is signed with a key the issuer does not publish")


def test_a_token_of_another_issuer_that_this_one_also_trusts(
        oidc_provider: OIDCProvider, make_oidc_provider: Callable[..., OIDCProvider],
        make_auth_service: MakeService) -> None:
    """The keys of the service's issuer, but `iss` of another: the issuer check alone."""
    other = make_oidc_provider()
    service = make_auth_service(**oidc_settings(oidc_provider))
    token = other.client_credentials_token()["access_token"]
    trusting_other = make_auth_service(**oidc_settings(other))
    assert jobs(trusting_other, token).status_code == 200
    assert jobs(service, token).status_code == 401


def test_alg_none_is_refused(oidc_provider: OIDCProvider, service: FakeEngineService) -> None:
    token = alg_none(oidc_provider.client_credentials_token()["access_token"])
    assert_challenged(jobs(service, token), service.url, oidc_provider,
                      "the token's algorithm 'none' is not accepted here (asymmetric "
                      "signatures only)")


def test_hs256_keyed_with_the_public_key_is_refused(oidc_provider: OIDCProvider,
                                                    service: FakeEngineService) -> None:
    token = hs256_with_public_key(oidc_provider.client_credentials_token()["access_token"],
                                  oidc_provider)
    assert_challenged(jobs(service, token), service.url, oidc_provider,
                      "the token's algorithm 'HS256' is not accepted here (asymmetric "
                      "signatures only)")


@pytest.mark.parametrize(("token", "reason"), [
    ("garbage", "the token is not active (expired, revoked or unknown)"),
    ("not.a.jwt", "the bearer token is not a well-formed JWT"),
])
def test_garbage_is_refused(oidc_provider: OIDCProvider, service: FakeEngineService,
                            token: str, reason: str) -> None:
    assert_challenged(jobs(service, token), service.url, oidc_provider, reason)


def test_a_tampered_token_is_refused(oidc_provider: OIDCProvider,
                                     service: FakeEngineService) -> None:
    token = oidc_provider.client_credentials_token()["access_token"]
    head, body, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert_challenged(jobs(service, f"{head}.{body}.{flipped}"), service.url, oidc_provider,
                      "the token's signature does not verify")
