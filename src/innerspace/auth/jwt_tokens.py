"""OpenID Connect access tokens that are JWTs, validated here without asking the issuer:
the signature by the issuer's key the token names (asymmetric algorithms only, and only
the key's own algorithm: never `none`, never HMAC keyed with a public key), then `iss`,
`aud`, `exp`, `nbf` and `iat` with the configured leeway."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

from innerspace.auth.caller import Caller
from innerspace.auth.claims import caller_from_claims
from innerspace.auth.issuer import Issuer
from innerspace.config import Auth
from innerspace.errors import InvalidToken

# What a refusal tells the caller, by PyJWT's exception (its own messages may quote parts of
# the token; these never do).
REASONS: list[tuple[type[InvalidTokenError], str]] = [
    (ExpiredSignatureError, "the token has expired"),
    (ImmatureSignatureError, "the token is not valid yet (nbf or iat)"),
    (InvalidIssuedAtError, "the token's iat is not a time"),
    (InvalidAudienceError, "the token is meant for another service (aud)"),
    (InvalidIssuerError, "the token comes from another issuer (iss)"),
    (InvalidSignatureError, "the token's signature does not verify"),
    (MissingRequiredClaimError, "the token lacks a required claim (exp, iss, aud)"),
]
REQUIRED = ["exp", "iss", "aud"]


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts: a JWS in compact form (opaque tokens have no dots)."""
    return token.count(".") == 2


class JWTValidator:
    def __init__(self, auth: Auth, issuer: Issuer) -> None:
        self.auth = auth
        self.issuer = issuer
        self.algorithms = frozenset(auth.algorithms)

    async def validate(self, token: str) -> tuple[Caller, float]:
        """The caller the token names and its expiry (epoch seconds); InvalidToken saying
        why it is refused."""
        header = unverified_header(token)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise InvalidToken(f"the token's algorithm {str(algorithm)[:20]!r} is not "
                               "accepted here (asymmetric signatures only)")
        kid = header.get("kid")
        key = await self.issuer.key(kid if isinstance(kid, str) else None, algorithm)
        try:
            claims = jwt.decode(
                token, key.jwk.key, algorithms=[algorithm], audience=self.auth.audience,
                issuer=self.issuer.url, leeway=self.auth.leeway,
                options={"require": REQUIRED, "verify_sub": False, "verify_jti": False})
        except InvalidTokenError as exc:
            raise InvalidToken(reason(exc)) from exc
        return caller_from_claims(claims, self.auth, "oidc"), float(claims["exp"])


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, to find the key by (PyJWT checks the whole token again when it
    verifies it; reading the short header here keeps that to one pass)."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise InvalidToken("the bearer token is not a well-formed JWT") from exc
    if not isinstance(header, dict):
        raise InvalidToken("the bearer token is not a well-formed JWT")
    return header


def reason(error: InvalidTokenError) -> str:
    for kind, text in REASONS:
        if isinstance(error, kind):
            return text
    return "the bearer token is not a valid JWT"
