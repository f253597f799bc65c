"""HTTP to one OCI registry, under the rules that keep a hostile registry (or whoever it
points at) harmless:

- every body is read as a stream up to a cap and refused past it, never buffered whole;
- the whole of one answer (connect, headers, body) takes at most `timeout` seconds;
- credentials go only to the registry's own origin and to a Bearer token realm that is https
  (or on the registry's own origin): never to a host a redirect or a challenge names;
- a redirect to another origin is followed only to https, and without credentials;
- Bearer tokens are cached per scope (`repository:NAME:pull`, `registry:catalog:*`) until
  their `expires_in`, so one repository's token never replaces another's.

`innerspace.apps.oci` builds the Distribution API on top of `RegistryHTTP.get`.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx

_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_REPOSITORY_PATH = re.compile(r"^/v2/(.+?)/(?:tags|manifests|blobs)/")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TOKEN_LIFETIME = 60  # seconds, when the realm does not say (the Docker token spec's default)
_TOKEN_LIFETIME_MAX = 24 * 3600  # seconds a token is ever kept, whatever the realm says
_TOKEN_MARGIN = 5  # seconds before expiry a token is no longer sent
_TOKENS_KEPT = 256  # scopes whose tokens are cached (one per repository read)
_CHUNK = 64 * 1024

Origin = tuple[str, str, int]


class RegistryError(RuntimeError):
    """The registry cannot be reached or answered with an error (a 5xx, a refusal)."""


class RegistryNotFound(LookupError):
    """The registry has no such repository, tag or digest."""


class DigestMismatch(ValueError):
    """Content does not hash to the digest it was fetched by or announced with."""


@dataclass(frozen=True)
class RegistryLimits:
    """What one registry may cost: the settings of `[repository]` (config/settings.py)."""

    max_pages: int = 100  # pages of one catalog or tags listing
    max_manifest_bytes: int = 4 * 1024**2  # a manifest, an index or a config blob
    max_page_bytes: int = 1024**2  # a catalog or tags page, a token answer
    timeout: float = 30.0  # seconds for the whole of one answer
    max_redirects: int = 5


@dataclass(frozen=True)
class Reply:
    """A registry's answer: the final URL, status, headers and (for a 2xx) the body."""

    url: httpx.URL
    status: int
    headers: httpx.Headers
    content: bytes

    def json(self, what: str) -> Any:
        try:
            return json.loads(self.content)
        except RecursionError as exc:  # "[[[[..." nested past the interpreter's stack
            raise RegistryError(f"{what}: the registry's JSON is nested too deeply") from exc
        except ValueError as exc:
            raise RegistryError(f"{what}: the registry's answer is not JSON") from exc


def origin_of(url: httpx.URL) -> Origin:
    """Scheme, host and port (with the scheme's default port filled in)."""
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme, 0)


def show_origin(origin: Origin) -> str:
    return f"{origin[0]}://{origin[1]}:{origin[2]}"


def scope_of(path: str) -> str:
    """The token scope a request path needs; a token is cached under it."""
    if path.startswith("/v2/_catalog"):
        return "registry:catalog:*"
    match = _REPOSITORY_PATH.match(path)
    return f"repository:{match.group(1)}:pull" if match else ""


class TokenCache:
    """Bearer tokens by scope, each until it expires; thread-safe, bounded."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, scope: str) -> str | None:
        with self._lock:
            found = self._tokens.get(scope)
            if found is None:
                return None
            if self._clock() >= found[1]:
                del self._tokens[scope]
                return None
            return found[0]

    def put(self, scope: str, token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[scope] = (token, self._clock() + expires_in - _TOKEN_MARGIN)
            self._tokens.move_to_end(scope)
            while len(self._tokens) > _TOKENS_KEPT:
                self._tokens.popitem(last=False)

    def drop(self, scope: str) -> None:
        with self._lock:
            self._tokens.pop(scope, None)


class RegistryHTTP:
    """GET requests to one registry, with its auth dance and the rules above."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None,
                 limits: RegistryLimits | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        try:
            base = httpx.URL(self.url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"registry URL {url!r} is not a URL: {exc}") from exc
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"registry URL {url!r} must be http(s)://host[:port]")
        self.base = base
        self.origin = origin_of(base)
        self.limits = limits or RegistryLimits()
        self._basic = (
            "Basic " + base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            if username else None)
        self._tokens = TokenCache()
        # Redirects are followed here, not by httpx, so that each hop is checked.
        self._http = httpx.Client(timeout=self.limits.timeout, transport=transport,
                                  follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def same_origin(self, url: httpx.URL) -> bool:
        return origin_of(url) == self.origin

    def resolve(self, target: str, relative_to: httpx.URL | None = None) -> httpx.URL:
        """`target` (a path, or a URL as a Link header gives it) as an absolute URL."""
        return (relative_to or self.base).join(target)

    # -- one GET, with the auth dance ------------------------------------------------------

    def get(self, target: str | httpx.URL, cap: int, what: str,
            headers: dict[str, str] | None = None) -> Reply:
        """GET `target` on the registry: a 2xx reply with its body (at most `cap` bytes),
        or RegistryNotFound / RegistryError naming what went wrong."""
        url = target if isinstance(target, httpx.URL) else self.resolve(target)
        if not self.same_origin(url):
            raise RegistryError(f"{what}: {show_origin(origin_of(url))} is not the registry "
                                f"{self.url}: refused")
        scope = scope_of(url.path)
        token = self._tokens.get(scope)
        reply = self._follow(url, cap, what, headers or {}, token)
        if reply.status == 401 and self.same_origin(reply.url):
            # Only the registry itself may send us to a token realm (not a host it
            # redirected to), and a token it refuses is not sent again.
            self._tokens.drop(scope)
            token = self._fetch_token(reply.headers.get("www-authenticate", ""), scope)
            if token is not None:
                reply = self._follow(url, cap, what, headers or {}, token)
        if reply.status == 404:
            raise RegistryNotFound(f"{what}: not found in the registry {self.url}")
        if reply.status in (401, 403):
            raise RegistryError(f"the registry {self.url} refused access to {what} "
                                f"({reply.status}); check the credentials")
        if reply.status >= 300:
            raise RegistryError(f"the registry {self.url} answered {reply.status} for {what}")
        return reply

    def _follow(self, url: httpx.URL, cap: int, what: str, headers: dict[str, str],
                token: str | None) -> Reply:
        """GET `url`, following redirects: credentials only on the registry's origin, and
        another origin only over https."""
        for _ in range(self.limits.max_redirects + 1):
            sent = dict(headers, **{"Accept-Encoding": "identity"})
            if self.same_origin(url):
                credential = f"Bearer {token}" if token else self._basic
                if credential:
                    sent["Authorization"] = credential
            reply = self._fetch(url, sent, cap, what)
            location = reply.headers.get("location")
            if reply.status not in (301, 302, 303, 307, 308) or not location:
                return reply
            url = url.join(location)
            if not self.same_origin(url) and url.scheme != "https":
                raise RegistryError(f"{what}: the registry redirects to "
                                    f"{show_origin(origin_of(url))}, another origin that is "
                                    "not https: refused")
        raise RegistryError(f"{what}: more than {self.limits.max_redirects} redirects")

    def _fetch(self, url: httpx.URL, headers: dict[str, str], cap: int, what: str) -> Reply:
        deadline = time.monotonic() + self.limits.timeout
        try:
            with self._http.stream("GET", url, headers=headers) as response:
                body = (read_capped(response, cap, deadline, what)
                        if 200 <= response.status_code < 300 else b"")
                return Reply(url, response.status_code, response.headers, body)
        except httpx.HTTPError as exc:
            raise RegistryError(f"the registry {self.url} does not answer for {what}: "
                                f"{exc}") from exc

    # -- Bearer tokens ---------------------------------------------------------------------

    def _fetch_token(self, challenge: str, scope: str) -> str | None:
        """The Docker token flow: a Bearer challenge names a realm that issues tokens. The
        realm gets the credentials, so it must be https or the registry's own origin."""
        kind, _, rest = challenge.partition(" ")
        if kind.lower() != "bearer":
            return None
        fields = dict(_CHALLENGE.findall(rest))
        realm = fields.pop("realm", "")
        try:
            url = httpx.URL(realm)
        except httpx.InvalidURL:
            url = httpx.URL()
        if not url.host or url.scheme not in ("http", "https"):
            raise RegistryError(f"the registry {self.url} names no usable token realm")
        if url.scheme != "https" and not self.same_origin(url):
            raise RegistryError(f"the registry {self.url} asks for a token from "
                                f"{show_origin(origin_of(url))}, which is neither https nor "
                                "the registry itself: refused")
        headers = {"Accept-Encoding": "identity"}
        if self._basic:
            headers["Authorization"] = self._basic
        where = f"the token realm {show_origin(origin_of(url))}"
        reply = self._fetch(url.copy_merge_params(fields), headers,
                            self.limits.max_page_bytes, where)
        if reply.status != 200:
            raise RegistryError(f"could not get a registry token: {where} answered "
                                f"{reply.status}")
        data = reply.json(where)
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            return None
        self._tokens.put(scope, token, token_lifetime(data.get("expires_in")))
        return token


def token_lifetime(expires_in: Any) -> float:
    """Seconds a token may be used, from a token answer's `expires_in` (JSON also gives
    NaN and Infinity: the result is always between 0 and a day)."""
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
        return _TOKEN_LIFETIME
    if math.isnan(expires_in):
        return 0.0
    return min(max(float(expires_in), 0.0), _TOKEN_LIFETIME_MAX)


def read_capped(response: httpx.Response, cap: int, deadline: float, what: str) -> bytes:
    """The body of `response`, read as a stream: refused past `cap` bytes or past
    `deadline` (a time.monotonic() value)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # Asked for identity: a compressed body could inflate far past the cap.
        raise RegistryError(f"{what}: the registry sent a {encoding}-encoded body although "
                            "asked for identity: refused")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise RegistryError(f"{what}: the registry announces {declared} bytes, more than the "
                            f"{cap} bytes allowed")
    chunks: list[bytes] = []
    size = 0
    # The encoding is identity (checked above), so iter_bytes decodes nothing.
    for chunk in response.iter_bytes(_CHUNK):
        size += len(chunk)
        if size > cap:
            raise RegistryError(f"{what}: the registry sends more than the {cap} bytes "
                                "allowed")
        if time.monotonic() > deadline:
            raise RegistryError(f"{what}: the registry's answer takes longer than the "
                                "repository timeout allows")
        chunks.append(chunk)
    return b"".join(chunks)
