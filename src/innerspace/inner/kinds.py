"""The kinds of inner API an app may require, each with a stable identifier.

IVOA protocols used inside the data centre keep their IVOA standardIDs; the kinds IVOA has no
standard for (a POSIX data collection, an S3 store, a plain HTTP file service) get
innerspace's own ivo:// identifiers. docs/inner-apis.md documents how an app finds each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

INNERSPACE_STD = "ivo://innerspace.org/std/inner-api"


class Access(StrEnum):
    NETWORK = "network"  # reached at a URL over a dedicated internal network
    MOUNT = "mount"  # a directory mounted read-only into the container


@dataclass(frozen=True)
class InnerApiKind:
    name: str
    standard_id: str
    access: Access
    title: str


KINDS: dict[str, InnerApiKind] = {k.name: k for k in (
    InnerApiKind("tap", "ivo://ivoa.net/std/TAP", Access.NETWORK,
                 "IVOA Table Access Protocol service (sync and async ADQL queries)"),
    InnerApiKind("sia2", "ivo://ivoa.net/std/SIA#query-2.0", Access.NETWORK,
                 "IVOA Simple Image Access 2.0 query service"),
    InnerApiKind("datalink", "ivo://ivoa.net/std/DataLink#links-1.0", Access.NETWORK,
                 "IVOA DataLink links service"),
    InnerApiKind("soda", "ivo://ivoa.net/std/SODA#sync-1.0", Access.NETWORK,
                 "IVOA Server-side Operations for Data Access (cut-outs)"),
    InnerApiKind("posix-collection", f"{INNERSPACE_STD}#posix-collection", Access.MOUNT,
                 "a read-only POSIX directory tree holding a data collection"),
    InnerApiKind("s3", f"{INNERSPACE_STD}#s3", Access.NETWORK,
                 "an S3-compatible object store (endpoint URL and bucket)"),
    InnerApiKind("http-files", f"{INNERSPACE_STD}#http-files", Access.NETWORK,
                 "a plain HTTP file service (GET of paths under a base URL)"),
)}


class UnknownKind(ValueError):
    """A kind that innerspace does not define."""


def kind(name: str) -> InnerApiKind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(f"unknown inner API kind {name!r}; known kinds: "
                          f"{', '.join(KINDS)}") from None
