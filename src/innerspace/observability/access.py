"""Who may read /metrics without credentials: a scraper on an allowed network (by default
this machine's loopback) that connects directly. A request that came through a proxy (it
carries Forwarded, X-Forwarded-For or X-Real-IP) is not a direct one, even from loopback:
a reverse proxy on this machine would otherwise open /metrics to everyone behind it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def networks(specs: Iterable[str]) -> list[Network]:
    """Addresses and CIDR blocks (e.g. 127.0.0.0/8, ::1, 10.1.2.3) as networks."""
    return [ipaddress.ip_network(spec.strip(), strict=False) for spec in specs]


def direct_from(peer: str | None, headers: Mapping[str, str],
                allowed: Iterable[Network]) -> bool:
    """Whether a request comes straight (not forwarded) from an address in `allowed`."""
    if peer is None or any(name in headers for name in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in allowed)
