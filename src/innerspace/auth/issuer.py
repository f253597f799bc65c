"""The OpenID provider as this service sees it: its discovery document and its signing keys
(JWKS), fetched with async httpx (never blocking the event loop), cached, and fetched again
when they grow old or when a token names a key not yet known - at most once per
`jwks_refetch_interval`, so that a flood of tokens with made-up key ids costs the issuer
one request per interval, not one per token.

An issuer that cannot be reached is the service's trouble, not the caller's: 503 (while
keys fetched earlier are still used when they can be)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from innerspace.config import Auth
from innerspace.errors import InvalidToken, Unavailable

log = logging.getLogger("innerspace.auth")

MAX_DOCUMENT = 1024 * 1024  # bytes of a discovery document, JWKS or introspection answer
RETRY_AFTER = 30  # seconds a 503 for an unreachable issuer asks clients to wait
RETRY_WHILE_DOWN = 5.0  # seconds between fetches while the issuer has never answered
# The key types and curves each asymmetric algorithm family signs with.
FAMILIES = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}
CURVES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}


class IssuerUnavailable(Unavailable):
    """The identity provider did not answer as it should."""

    topic = "the identity provider cannot be reached"


async def fetch_json(client: httpx.AsyncClient, method: str, url: str,
                     **options: Any) -> tuple[int, dict[str, Any]]:
    """A JSON object from the issuer, read as a stream up to MAX_DOCUMENT bytes; the status
    with it. Transport failures, bodies too large and non-objects are IssuerUnavailable."""
    try:
        async with client.stream(method, url, **options) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT:
                    raise IssuerUnavailable(f"{url} answered more than {MAX_DOCUMENT} bytes",
                                            retry_after=RETRY_AFTER)
            status = response.status_code
    except httpx.HTTPError as exc:
        raise IssuerUnavailable(f"{url}: {type(exc).__name__}", retry_after=RETRY_AFTER) from exc
    if status >= 500:
        raise IssuerUnavailable(f"{url} answered HTTP {status}", retry_after=RETRY_AFTER)
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise IssuerUnavailable(f"{url} answered HTTP {status} without a JSON object",
                                retry_after=RETRY_AFTER)
    return status, document


class SigningKey:
    """One key of the issuer's JWKS, loaded once (loading is the costly part), and the
    algorithms it may verify: the one its JWK declares (`alg`), else those of its key type
    (and curve)."""

    def __init__(self, jwk: PyJWK, declared: str | None, curve: str | None) -> None:
        self.jwk = jwk
        self.declared = declared
        self.curve = curve

    def allows(self, algorithm: str) -> bool:
        if self.declared:
            return self.declared == algorithm
        if self.jwk.key_type == "EC":
            return CURVES.get(self.curve or "") == algorithm
        return algorithm.startswith(FAMILIES.get(str(self.jwk.key_type), ()))


class Issuer:
    """The discovery document and signing keys of `auth.issuer`. `on_new_keys` runs when a
    fetch changes the key set (cached tokens are forgotten then)."""

    def __init__(self, auth: Auth, on_new_keys: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.monotonic,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        assert auth.issuer is not None
        self.auth = auth
        self.url = auth.issuer
        self.on_new_keys = on_new_keys
        self.clock = clock
        self.transport = transport  # None: the network (tests give a stand-in)
        self._metadata: dict[str, Any] | None = None  # None until a fetch has succeeded
        self._keys: dict[str, SigningKey] = {}
        self._fingerprint: str | None = None
        self._fetched: float | None = None  # when discovery and keys were last asked for
        self._problem = "not asked yet"  # why the last fetch failed
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        # While the issuer has never answered, ask again this often (not on every request).
        self._retry_down = min(self.auth.jwks_refetch_interval, RETRY_WHILE_DOWN)

    @property
    def discovery_url(self) -> str:
        assert self.auth.discovery_url is not None
        return self.auth.discovery_url

    def client(self) -> httpx.AsyncClient:
        # A client per fetch: fetches are rare, and a client belongs to one event loop.
        return httpx.AsyncClient(timeout=self.auth.http_timeout, follow_redirects=False,
                                 transport=self.transport)

    def _lock(self) -> asyncio.Lock:
        return self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())

    # -- what callers ask for -----------------------------------------------------------

    async def metadata(self) -> dict[str, Any]:
        """The discovery document; IssuerUnavailable if it was never fetched."""
        await self._ensure()
        assert self._metadata is not None
        return self._metadata

    def cached_metadata(self) -> dict[str, Any] | None:
        return self._metadata

    async def key(self, kid: str | None, algorithm: str) -> SigningKey:
        """The issuer's key `kid` for `algorithm`; InvalidToken when it publishes none."""
        await self._ensure()
        found = self._find(kid)
        if found is None and self._since_fetch() >= self.auth.jwks_refetch_interval:
            await self._refresh(reason="a token names a key not known yet")
            found = self._find(kid)
        if found is None:
            raise InvalidToken("the token is signed with a key the issuer does not publish"
                               if kid is not None else
                               "the token names no signing key (kid), and the issuer has "
                               "several")
        if not found.allows(algorithm):
            raise InvalidToken(f"the token's algorithm {algorithm} is not that of the key "
                               "that signed it")
        return found

    # -- fetching -----------------------------------------------------------------------

    def _find(self, kid: str | None) -> SigningKey | None:
        if kid is None:  # a token without kid: only if the issuer has one key
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _since_fetch(self) -> float:
        return float("inf") if self._fetched is None else self.clock() - self._fetched

    async def _ensure(self) -> None:
        """Discovery and keys fetched (again when old); IssuerUnavailable while the issuer
        has never answered."""
        if self._metadata is None:
            if self._since_fetch() >= self._retry_down:
                await self._refresh(reason="first use")
            if self._metadata is None:
                raise IssuerUnavailable(self._problem, retry_after=RETRY_AFTER)
        elif self._since_fetch() >= self.auth.jwks_max_age:
            await self._refresh(reason="they are old")

    async def _refresh(self, reason: str) -> None:
        """Fetch discovery and JWKS again, one fetch at a time (who waited for the lock
        uses what the fetch before it got). A failure keeps what was fetched before."""
        asked = self.clock()
        async with self._lock():
            if self._fetched is not None and self._fetched >= asked:
                return
            self._fetched = self.clock()
            try:
                await self._fetch(reason)
            except IssuerUnavailable as exc:
                self._problem = exc.message
                if self._metadata is None:
                    log.error("the identity provider %s cannot be reached: %s", self.url, exc)
                else:
                    log.warning("keeping the keys of %s fetched earlier: %s", self.url, exc)

    async def _fetch(self, reason: str) -> None:
        log.info("fetching the keys of %s (%s)", self.url, reason)
        async with self.client() as client:
            status, metadata = await fetch_json(client, "GET", self.discovery_url)
            if status != 200:
                raise IssuerUnavailable(f"{self.discovery_url} answered HTTP {status}",
                                        retry_after=RETRY_AFTER)
            if metadata.get("issuer") != self.url:
                raise IssuerUnavailable(f"{self.discovery_url} names issuer "
                                        f"{metadata.get('issuer')!r}, not {self.url!r}",
                                        retry_after=RETRY_AFTER)
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str) or \
                    not jwks_uri.startswith(("https://", "http://")):
                raise IssuerUnavailable(f"{self.discovery_url} names no jwks_uri",
                                        retry_after=RETRY_AFTER)
            status, jwks = await fetch_json(client, "GET", jwks_uri)
            if status != 200:
                raise IssuerUnavailable(f"{jwks_uri} answered HTTP {status}",
                                        retry_after=RETRY_AFTER)
        self._metadata = metadata
        fingerprint = json.dumps(jwks.get("keys"), sort_keys=True)
        if fingerprint != self._fingerprint:
            self._keys, self._fingerprint = self._usable_keys(jwks), fingerprint
            log.info("the signing keys of %s are now %s", self.url, sorted(self._keys))
            self.on_new_keys()

    def _usable_keys(self, jwks: dict[str, Any]) -> dict[str, SigningKey]:
        """The JWKS's signature keys of allowed asymmetric algorithms, by kid (a key
        without kid under '')."""
        found: dict[str, SigningKey] = {}
        entries = jwks.get("keys")
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" \
                    or entry.get("kty") not in FAMILIES:
                continue  # encryption keys, symmetric keys, unknown types
            declared = entry.get("alg")
            if declared is not None and declared not in self.auth.algorithms:
                continue
            try:
                jwk = PyJWK(entry, declared)
            except (PyJWTError, ValueError, TypeError) as exc:
                log.warning("ignoring a key of %s: %s", self.url, exc)
                continue
            curve = entry.get("crv")
            found[str(entry.get("kid", ""))] = SigningKey(
                jwk, declared, curve if isinstance(curve, str) else None)
        return found
