"""How a client finds out how to authenticate: the protected-resource metadata (RFC 9728) the
challenges point at, leading to the provider and the CLI's client; the VOSI capabilities'
security methods; the challenge's access_url, a discovery document that leads on to the
device flow."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from innerspace.auth import CLI_CLIENT_ID_FIELD
from tests.support.fake_service import FakeEngineService
from tests.support.oidc_provider import CLI_CLIENT, OIDCProvider
from tests.support.oidc_service import oidc_settings
from tests.support.xmlcheck import SchemaSet

OAUTH = "ivo://ivoa.net/sso#OAuth"


def test_from_a_401_to_the_device_flow(oidc_provider: OIDCProvider,
                                       make_auth_service: Callable[..., FakeEngineService]
                                       ) -> None:
    service = make_auth_service(**oidc_settings(oidc_provider))
    challenge = httpx.get(f"{service.url}/jobs").headers.get_list("www-authenticate")
    metadata_url = challenge[0].split('resource_metadata="')[1].split('"')[0]
    metadata = httpx.get(metadata_url)
    assert metadata.status_code == 200
    assert metadata.headers["content-type"] == "application/json"
    assert metadata.json() == {
        "resource": service.url, "authorization_servers": [oidc_provider.issuer],
        "bearer_methods_supported": ["header"], "scopes_supported": ["openid",
                                                                     "offline_access"],
        "resource_name": "innerspace", CLI_CLIENT_ID_FIELD: CLI_CLIENT}
    access_url = challenge[1].split('access_url="')[1].split('"')[0]
    discovery = httpx.get(access_url).json()
    assert discovery["issuer"] == metadata.json()["authorization_servers"][0]
    assert discovery["device_authorization_endpoint"] == f"{oidc_provider.issuer}/device/auth"
    # The whole device flow from what the service published, as `innerspace login` does.
    device = httpx.post(discovery["device_authorization_endpoint"], data={
        "client_id": metadata.json()[CLI_CLIENT_ID_FIELD],
        "scope": " ".join(metadata.json()["scopes_supported"])}).json()
    oidc_provider.approve_device(device["user_code"], "bob", "bob-password")
    answer = httpx.post(discovery["token_endpoint"], data={
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": device["device_code"], "client_id": CLI_CLIENT}).json()
    assert "refresh_token" in answer
    jobs = httpx.get(f"{service.url}/jobs",
                     headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert jobs.status_code == 200 and jobs.headers["x-vo-authenticated"] == "bob"


def test_capabilities_list_the_security_methods(
        oidc_provider: OIDCProvider, xml_schemas: SchemaSet,
        make_auth_service: Callable[..., FakeEngineService]) -> None:
    service = make_auth_service(**oidc_settings(oidc_provider))
    open_service = make_auth_service(**oidc_settings(oidc_provider, allow_anonymous=True))
    for live, expected in ((service, [[OAUTH]]), (open_service, [[], [OAUTH]])):
        answer = httpx.get(f"{live.url}/capabilities")
        assert answer.status_code == 200  # VOSI: readable by anyone
        root = xml_schemas.validate(answer.content)
        uws = next(c for c in root.iter("capability")
                   if c.get("standardID") == "ivo://ivoa.net/std/UWS#rest-1.1")
        assert [[m.get("standardID") for m in i.iter("securityMethod")]
                for i in uws.iter("interface")] == expected
