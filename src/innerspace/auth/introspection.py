"""Opaque access tokens, checked by asking the issuer (OAuth 2.0 Token Introspection,
RFC 7662) as this service's own client. Active answers are reused for a short while (never
past the token's exp); inactive ones are not remembered."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from innerspace.auth.caller import Caller
from innerspace.auth.claims import caller_from_claims
from innerspace.auth.issuer import RETRY_AFTER, Issuer, IssuerUnavailable, fetch_json
from innerspace.config import Auth
from innerspace.errors import InvalidToken


def audiences(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    return {item for item in value if isinstance(item, str)} if isinstance(value, list) else set()


class Introspector:
    def __init__(self, auth: Auth, issuer: Issuer,
                 clock: Callable[[], float] = time.time) -> None:
        assert auth.client_id is not None and auth.client_secret is not None
        self.auth = auth
        self.issuer = issuer
        self.clock = clock
        self._credentials = httpx.BasicAuth(auth.client_id,
                                            auth.client_secret.get_secret_value())

    async def validate(self, token: str) -> tuple[Caller, float]:
        """The caller an active token names, and until when (epoch seconds) the answer may
        be reused; InvalidToken for a token the issuer does not call active."""
        endpoint = (await self.issuer.metadata()).get("introspection_endpoint")
        if not isinstance(endpoint, str):
            raise IssuerUnavailable(f"{self.issuer.url} offers no introspection endpoint",
                                    retry_after=RETRY_AFTER)
        async with self.issuer.client() as client:
            status, answer = await fetch_json(
                client, "POST", endpoint, auth=self._credentials,
                data={"token": token, "token_type_hint": "access_token"})
        if status != 200:
            # Our client credentials or the endpoint are wrong: the service's fault.
            raise IssuerUnavailable(f"introspection at {endpoint} answered HTTP {status} "
                                    "(check auth.client_id and auth.client_secret)",
                                    retry_after=RETRY_AFTER)
        if answer.get("active") is not True:
            raise InvalidToken("the token is not active (expired, revoked or unknown)")
        now = self.clock()
        self._check(answer, now)
        exp = answer.get("exp")
        until = now + self.auth.introspection_cache
        if isinstance(exp, int | float):
            until = min(until, float(exp))
        return caller_from_claims(answer, self.auth, "introspection"), until

    def _check(self, answer: dict[str, Any], now: float) -> None:
        """What RFC 7662 leaves to the resource server: the issuer, audience and times the
        answer states (each optional there) must fit."""
        issuer = answer.get("iss")
        if issuer is not None and issuer != self.issuer.url:
            raise InvalidToken("the token comes from another issuer (iss)")
        if "aud" in answer and not audiences(answer["aud"]) & set(self.auth.audience):
            raise InvalidToken("the token is meant for another service (aud)")
        exp, nbf = answer.get("exp"), answer.get("nbf")
        if isinstance(exp, int | float) and exp + self.auth.leeway <= now:
            raise InvalidToken("the token has expired")
        if isinstance(nbf, int | float) and nbf - self.auth.leeway > now:
            raise InvalidToken("the token is not valid yet (nbf or iat)")
