"""Which sites a browser may reach the service from.

Two attacks come through a visitor's browser rather than from the attacker's own machine:

- Cross-site requests: a page on another site posts a form (or fetches) to the service, and
  the browser sends it from the visitor's network, with whatever credentials it holds for
  the service. `CrossSiteWrites` refuses (403) every POST, PUT, PATCH or DELETE whose
  `Origin` is neither the service's own (from `public_url`, or the scheme and Host the
  request came with) nor one of `allowed_origins`; `Origin: null` (sandboxed pages, some
  redirects) is foreign. Without an Origin, a `Sec-Fetch-Site` of cross-site or same-site
  betrays another site's page too. Requests without either (curl, pyvo, the innerspace
  client) are not a browser's and pass. Paths that only read (OAI-PMH, TAP sync: their GET
  does the same and is not checked) are exempt.
- DNS rebinding: a page on a name the attacker controls, re-pointed at the service's
  address, becomes same-origin with the service. The browser still sends the attacker's
  name as Host, so `TrustedHosts` answers only the Host names the service is known by
  (400 otherwise): by default the hosts of `public_url` and `datacentre.execution_url`,
  localhost, and IP addresses (a page cannot be served from an IP address it does not own).

Both answer through the error renderer of the request's protocol.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from innerspace.config import Settings
from innerspace.errors import BadRequest, Forbidden, InnerspaceError
from innerspace.web.errors import ErrorRenderers

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OTHER_SITES = frozenset({"cross-site", "same-site"})  # Sec-Fetch-Site of another origin
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, lower-cased and without the scheme's
    default port; None for anything else (such as the Origin `null`)."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown_port = f":{port}" if port is not None and port != DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{shown_port}"


def host_of(header: str) -> str:
    """The host a Host header names: lower-cased, without port, brackets or final dot."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0].rstrip(".") if header.count(":") <= 1 else header


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HostPolicy:
    """The Host names the service answers."""

    names: frozenset[str]
    suffixes: tuple[str, ...] = ()  # ".example.org" for "*.example.org"
    addresses: bool = False  # any IP address
    anything: bool = False

    @classmethod
    def of(cls, settings: Settings) -> HostPolicy:
        if settings.trusted_hosts is None:
            urls = (settings.public_url, settings.datacentre.execution_url)
            names = {urlsplit(url).hostname or "" for url in urls if url}
            return cls(frozenset(names - {""} | {"localhost"}), addresses=True)
        entries = settings.trusted_hosts
        return cls(frozenset(host_of(e) for e in entries if not e.startswith("*")),
                   tuple(e[1:] for e in entries if e.startswith("*.")),
                   anything="*" in entries)

    def trusts(self, host: str) -> bool:
        return (self.anything or host in self.names or host.endswith(self.suffixes)
                or (self.addresses and is_address(host)))


class TrustedHosts:
    """400 for a request whose Host header is not one the service is known by."""

    def __init__(self, app: ASGIApp, renderers: ErrorRenderers, policy: HostPolicy) -> None:
        self.app = app
        self.renderers = renderers
        self.policy = policy

    def refusal(self, scope: Scope) -> InnerspaceError | None:
        """Why the service does not answer this Host, or None when it does."""
        header = Headers(scope=scope).get("host")
        if header is None:
            return BadRequest("the request has no Host header")
        if self.policy.trusts(host_of(header)):
            return None
        return BadRequest(f"this service does not answer to the host name "
                          f"{host_of(header)!r} (its trusted_hosts setting lists those it "
                          "answers to)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.policy.anything:
            error = self.refusal(scope)
            if error is not None:
                await self.renderers.answer(error, scope, receive, send)
                return
        await self.app(scope, receive, send)


class CrossSiteWrites:
    """403 for a state-changing request that a page of another site sent."""

    def __init__(self, app: ASGIApp, renderers: ErrorRenderers, public_url: str | None,
                 allowed_origins: Iterable[str], read_only: Iterable[str] = ()) -> None:
        self.app = app
        self.renderers = renderers
        known = [origin_of(url) for url in (public_url, *allowed_origins) if url]
        self.origins = frozenset(origin for origin in known if origin)
        self.read_only = frozenset(read_only)

    def foreign(self, scope: Scope) -> InnerspaceError | None:
        """Why this request is another site's, or None when it is not."""
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            site = headers.get("sec-fetch-site", "").lower()
            if site in OTHER_SITES:
                return Forbidden(f"a {site} request (Sec-Fetch-Site) may not "
                                 f"{scope['method']} here")
            return None
        own = origin_of(f"{scope.get('scheme', 'http')}://{headers.get('host', '')}")
        normal = origin_of(origin)
        if normal is not None and (normal in self.origins or normal == own):
            return None
        return Forbidden(f"a request from the origin {origin!r} may not {scope['method']} "
                         "here: it is neither this service's origin nor one of its "
                         "allowed_origins")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] in UNSAFE_METHODS
                and scope["path"] not in self.read_only):
            error = self.foreign(scope)
            if error is not None:
                await self.renderers.answer(error, scope, receive, send)
                return
        await self.app(scope, receive, send)
