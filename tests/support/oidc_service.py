"""innerspace configured with the test OpenID provider, and what the auth tests check on its
answers: the settings that point a service at the provider, the challenges every 401 must
carry, and tokens forged by hand (PyJWT refuses to make them)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from tests.support.oidc_provider import CLI_CLIENT, SERVICE_CLIENT, OIDCProvider

AUDIENCE = "innerspace"
ADMINS = "innerspace-admins"


def oidc_settings(provider: OIDCProvider, **auth: Any) -> dict[str, Any]:
    """The `auth` settings of a service that trusts `provider`: audience innerspace, its
    admins group, introspection as the service client, the CLI's device-flow client."""
    return {"issuer": provider.issuer, "audience": [AUDIENCE], "admin_groups": [ADMINS],
            "introspection": True, "client_id": SERVICE_CLIENT,
            "client_secret": provider.services[SERVICE_CLIENT].secret,
            "cli_client_id": CLI_CLIENT, **auth}


def assert_challenged(response: httpx.Response, service_url: str, provider: OIDCProvider,
                      refused: str | None = None) -> None:
    """A 401 with the Bearer challenge (RFC 6750 + RFC 9728) and the ivoa_bearer one; when
    a token was presented, `error="invalid_token"` and the reason `refused`."""
    assert response.status_code == 401, (response.status_code, response.text)
    bearer = (f'Bearer realm="innerspace", resource_metadata="{service_url}/.well-known/'
              'oauth-protected-resource"')
    if refused is not None:
        bearer += f', error="invalid_token", error_description="{refused}"'
    assert response.headers.get_list("www-authenticate") == [
        bearer, 'ivoa_bearer standard_id="ivo://ivoa.net/sso#OAuth", '
                f'access_url="{provider.issuer}/.well-known/openid-configuration"']
    assert "x-vo-authenticated" not in response.headers


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT, unverified."""
    head, body, _ = token.split(".")
    return decoded(head), decoded(body)


def decoded(part: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None = None) -> str:
    """A JWS in compact form: HMAC-SHA256 with `key` when given, else no signature."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return f"{signing_input}.{b64(signature)}"


def alg_none(token: str) -> str:
    """`token`'s claims under `alg: none` and no signature."""
    header, claims = parts(token)
    return forge({**header, "alg": "none"}, claims)


def hs256_with_public_key(token: str, provider: OIDCProvider) -> str:
    """`token`'s claims signed HS256 with the PEM of the provider's public RSA key as the
    HMAC secret: the classic key-confusion forgery."""
    header, claims = parts(token)
    jwk = next(k for k in provider.jwks()["keys"] if k["kid"] == header["kid"])
    public = RSAAlgorithm.from_jwk(jwk).public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return forge({**header, "alg": "HS256"}, claims, public)


def jwks_fetches(provider: OIDCProvider) -> int:
    """How often the provider's JWKS was fetched (its log has a line per request)."""
    return sum(1 for line in provider.log_text().splitlines() if line == "GET /jwks 200")
