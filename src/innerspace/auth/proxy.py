"""An authenticating proxy in front of the service (oauth2-proxy, Gafaelfawr, ...): it names
the user, and their groups, in request headers. Those headers are believed only when the TCP
peer of the request is one of the configured proxies; from anyone else they are ignored, as
any client can send them."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping

from innerspace.auth.caller import Caller
from innerspace.auth.claims import caller_of, group_names, usable_owner
from innerspace.config import Auth

log = logging.getLogger("innerspace.auth")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def peer_address(peer: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The peer's address (an IPv4 address mapped into IPv6 as the IPv4 one); None when the
    peer is not an IP address (a Unix socket, a test transport)."""
    if not peer:
        return None
    try:
        address = ipaddress.ip_address(peer.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    def __init__(self, auth: Auth) -> None:
        self.auth = auth
        self.networks: list[Network] = [ipaddress.ip_network(entry, strict=False)
                                        for entry in auth.trusted_proxies]
        self.user_header = auth.user_header.lower()
        self.groups_header = auth.groups_header.lower()

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusted(self, peer: str | None) -> bool:
        address = peer_address(peer)
        return address is not None and any(address in network for network in self.networks)

    def caller(self, peer: str | None, headers: Mapping[str, str]) -> Caller | None:
        """The user a trusted proxy names; None when the peer is no trusted proxy or names
        no one (the request is then authenticated as any other)."""
        user = headers.get(self.user_header)
        if user is None:
            return None
        if not self.trusted(peer):
            log.debug("ignored %s from %s, which is not a trusted proxy", self.auth.user_header,
                      peer)
            return None
        owner = usable_owner(user, f"{self.auth.user_header} header")
        return caller_of(owner, group_names(headers.get(self.groups_header, "")), self.auth,
                         "proxy")
