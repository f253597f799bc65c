"""Who is calling, from a request's credentials: a trusted proxy's headers, else a bearer
token (a development token, an OIDC JWT, or an opaque token the issuer introspects), else
anonymous when that is allowed. The one entry point web/caller.py uses."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping

import httpx

from innerspace.auth.cache import TokenCache
from innerspace.auth.caller import ANONYMOUS, Caller
from innerspace.auth.introspection import Introspector
from innerspace.auth.issuer import Issuer
from innerspace.auth.jwt_tokens import JWTValidator, looks_like_jwt
from innerspace.auth.proxy import TrustedProxies
from innerspace.auth.static import StaticTokens
from innerspace.config import Auth
from innerspace.errors import InvalidToken, NotAuthenticated

log = logging.getLogger("innerspace.auth")

MAX_TOKEN = 16 * 1024  # characters: far more than any real access token
B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*\Z")  # RFC 6750's token characters


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("use an 'Authorization: Bearer <token>' header")
    if len(token) > MAX_TOKEN or not B64TOKEN.match(token):
        raise InvalidToken(f"the bearer token is not one token of at most {MAX_TOKEN} "
                           "characters (RFC 6750 b64token)")
    return token


class Authenticator:
    def __init__(self, auth: Auth, clock: Callable[[], float] = time.time,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.auth = auth
        self.cache = TokenCache(auth.token_cache_size, clock)
        self.static = StaticTokens(auth)
        self.proxies = TrustedProxies(auth)
        self.issuer = (Issuer(auth, on_new_keys=self.cache.clear, transport=transport)
                       if auth.issuer else None)
        self.jwt = JWTValidator(auth, self.issuer) if self.issuer else None
        self.introspector = (Introspector(auth, self.issuer, clock)
                             if self.issuer and auth.introspection else None)

    async def authenticate(self, authorization: str | None, peer: str | None,
                           headers: Mapping[str, str]) -> Caller:
        """The caller of a request: its Authorization header, TCP peer address and headers
        (a case-insensitive mapping). NotAuthenticated (401) when it must say who it is,
        InvalidToken when what it said is refused, Unavailable when the issuer is away."""
        if self.proxies:
            proxied = self.proxies.caller(peer, headers)
            if proxied is not None:
                return proxied
        if authorization:
            return await self.token_caller(bearer_token(authorization))
        if self.auth.anonymous_allowed:
            return ANONYMOUS
        raise NotAuthenticated("this service needs a bearer token (Authorization: Bearer ...)"
                               if self.auth.bearer else
                               "this service is reached through its authenticating proxy")

    async def token_caller(self, token: str) -> Caller:
        static = self.static.caller(token)
        if static is not None:
            return static
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        if self.jwt is not None and looks_like_jwt(token):
            caller, until = await self.jwt.validate(token)
        elif self.introspector is not None:
            caller, until = await self.introspector.validate(token)
        elif self.jwt is not None:
            raise InvalidToken("the bearer token is not a JWT (and opaque tokens are not "
                               "introspected here)")
        else:
            raise InvalidToken("the bearer token is not known to this service")
        self.cache.put(token, caller, until)
        log.debug("%s authenticated by %s", caller.owner, caller.how)
        return caller
