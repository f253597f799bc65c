"""An identity provider that is away is the service's trouble, not the caller's: 503 with
Retry-After (never 401, never 500) while its keys were never fetched; once fetched, they
keep serving while it is down."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.fake_service import FakeEngineService
from tests.support.net import free_port
from tests.support.oidc_provider import OIDCProvider
from tests.support.oidc_service import oidc_settings

MakeService = Callable[..., FakeEngineService]


def test_an_issuer_nobody_answers_at_is_503(oidc_provider: OIDCProvider,
                                           make_auth_service: MakeService) -> None:
    token = oidc_provider.client_credentials_token()["access_token"]
    nowhere = f"http://127.0.0.1:{free_port()}"
    service = make_auth_service(issuer=nowhere, audience=["innerspace"])
    with service.client(token) as client:
        for _ in range(3):
            answer = client.get("/jobs")
            assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
            assert answer.text == (f"the identity provider cannot be reached: {nowhere}/"
                                   ".well-known/openid-configuration: ConnectError\n")
        assert client.get("/capabilities").status_code == 200  # what needs no caller works
    with service.client() as client:
        assert client.get("/jobs").status_code == 401  # no token: nothing to ask the issuer


def test_keys_fetched_before_serve_while_the_issuer_is_down(
        make_oidc_provider: Callable[..., OIDCProvider],
        make_auth_service: MakeService) -> None:
    provider = make_oidc_provider()
    service = make_auth_service(**oidc_settings(provider, token_cache_size=0))
    first = provider.client_credentials_token()["access_token"]
    second = provider.client_credentials_token()["access_token"]
    with service.client(first) as client:
        assert client.get("/jobs").status_code == 200
    provider.stop()
    with service.client(second) as client:  # never seen, checked with the cached keys
        assert client.get("/jobs").status_code == 200
