"""A stand-in OpenID provider for unit tests of the auth package: signing keys made here,
its discovery document, JWKS and introspection answered through an httpx MockTransport (no
network), with counts of what was fetched and a switch to take it down. The real provider
is in tests/integration/auth."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from innerspace.config import Auth

ISSUER = "https://idp.example.org"
AUDIENCE = "innerspace"


@dataclass
class Key:
    kid: str
    alg: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def rsa(cls, kid: str) -> Key:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537,
                                                         key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> Key:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def public_jwk(self, with_alg: bool = True) -> dict[str, Any]:
        jwk = (RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
               if isinstance(self.private, rsa.RSAPrivateKey) else
               ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True))
        jwk.update(kid=self.kid, use="sig")
        if with_alg:
            jwk["alg"] = self.alg
        return jwk


@dataclass
class FakeIssuer:
    keys: list[Key]
    url: str = ISSUER
    down: bool = False
    declare_alg: bool = True
    fetches: dict[str, int] = field(default_factory=lambda: {"discovery": 0, "jwks": 0,
                                                              "introspection": 0})
    # token -> the introspection answer for it (absent: {"active": false})
    introspected: dict[str, dict[str, Any]] = field(default_factory=dict)
    introspection_auth: list[str] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            self.fetches["discovery"] += 1
            base = self.url.rstrip("/")
            return httpx.Response(200, json={
                "issuer": self.url, "jwks_uri": f"{base}/jwks",
                "introspection_endpoint": f"{base}/introspect",
                "device_authorization_endpoint": f"{base}/device"})
        if path == "/jwks":
            self.fetches["jwks"] += 1
            return httpx.Response(200, json={"keys": [
                key.public_jwk(self.declare_alg) for key in self.keys]})
        if path == "/introspect":
            self.fetches["introspection"] += 1
            self.introspection_auth.append(request.headers.get("authorization", ""))
            token = dict(httpx.QueryParams(request.content.decode()))["token"]
            return httpx.Response(200, json=self.introspected.get(token, {"active": False}))
        return httpx.Response(404, json={"error": "not found"})

    def token(self, key: Key | None = None, headers: dict[str, Any] | None = None,
              **claims: Any) -> str:
        """A JWT signed by `key` (default: the first), with sensible claims that `claims`
        override (a claim given as None is left out)."""
        key = key or self.keys[0]
        now = int(time.time())
        payload = {"iss": self.url, "aud": AUDIENCE, "sub": "alice", "groups": ["astro"],
                   "iat": now, "nbf": now, "exp": now + 300, **claims}
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key.private, algorithm=key.alg,
                          headers={"kid": key.kid, **(headers or {})})


def oidc_auth(**settings: Any) -> Auth:
    """Auth settings for the fake issuer."""
    return Auth(**{"issuer": ISSUER, "audience": [AUDIENCE], **settings})
