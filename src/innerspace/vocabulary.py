"""One vocabulary of identifiers: IVOA standard ids, innerspace's own ids, the ivoids of the
records a data centre publishes, and the kinds of inner API.

Standard-library only: the service, the registry, the planner and the client (which runs on
laptops without the service's dependencies) all read their identifiers from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from innerspace.errors import BadRequest

# -- IVOA standard identifiers -------------------------------------------------------------

UWS = "ivo://ivoa.net/std/UWS#rest-1.1"
TAP = "ivo://ivoa.net/std/TAP"
OAI_PMH = "ivo://ivoa.net/std/Registry"
VOSI_CAPABILITIES = "ivo://ivoa.net/std/VOSI#capabilities"
VOSI_AVAILABILITY = "ivo://ivoa.net/std/VOSI#availability"
VOSI_TABLES = "ivo://ivoa.net/std/VOSI#tables"
# SSO 2.0 security method of an interface that takes OAuth 2.0 bearer tokens.
SSO_OAUTH = "ivo://ivoa.net/sso#OAuth"
REGTAP_DATA_MODEL = "ivo://ivoa.net/std/RegTAP#1.1"
ADQL_2_0 = "ivo://ivoa.net/std/ADQL#v2.0"
ADQL_2_1 = "ivo://ivoa.net/std/ADQL#v2.1"

# -- innerspace's own identifiers (IVOA has no standard for these) -------------------------

INNERSPACE_STD = "ivo://innerspace.org/std"
APP = f"{INNERSPACE_STD}/app#uws-1.0"  # an application, run as a UWS job
INNER_SPACE = f"{INNERSPACE_STD}/inner-space"  # a data centre that offers no inner API
INNER_API = f"{INNERSPACE_STD}/inner-api"  # prefix of the inner-API kinds below

# -- the records a data centre publishes: ivoid = <authority>/<local part> -----------------

AUTHORITY_PATTERN = re.compile(r"^ivo://[\w\d][\w\d\-_.!~*'()+=]{2,}$")
LOCAL_PART_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
ORGANISATION = "org"
REGISTRY = "registry"
EXECUTION_SERVICE = "innerspace/uws"
INNER_SPACE_RECORD = "innerspace/inner-space"
APPS = "innerspace/apps"  # + "/<app name>"
RESERVED_LOCAL_PARTS = (ORGANISATION, REGISTRY)  # and everything under innerspace/


def app_local_part(app_name: str) -> str:
    return f"{APPS}/{app_name}"


def authority_of(ivoid: str) -> str:
    """`ivo://example.org` from `ivo://example.org/any/thing` (lower-cased)."""
    match = re.match(r"^(ivo://[^/?#]+)", ivoid.strip().lower())
    return match.group(1) if match else ivoid.strip().lower()


def under_authority(ivoid: str, authority: str) -> bool:
    """Whether `ivoid` names a resource of `authority` (the authority itself included)."""
    return authority_of(ivoid) == authority.rstrip("/").lower()


# -- inner APIs ----------------------------------------------------------------------------

class Access(StrEnum):
    NETWORK = "network"  # reached at a URL over a dedicated internal network
    MOUNT = "mount"  # a directory mounted read-only into the container


@dataclass(frozen=True)
class InnerApiKind:
    """A kind of API a data centre may offer inside, to jobs only."""

    name: str
    standard_id: str
    access: Access
    title: str


INNER_API_KINDS: dict[str, InnerApiKind] = {k.name: k for k in (
    InnerApiKind("tap", TAP, Access.NETWORK,
                 "IVOA Table Access Protocol service (sync and async ADQL queries)"),
    InnerApiKind("sia2", "ivo://ivoa.net/std/SIA#query-2.0", Access.NETWORK,
                 "IVOA Simple Image Access 2.0 query service"),
    InnerApiKind("datalink", "ivo://ivoa.net/std/DataLink#links-1.0", Access.NETWORK,
                 "IVOA DataLink links service"),
    InnerApiKind("soda", "ivo://ivoa.net/std/SODA#sync-1.0", Access.NETWORK,
                 "IVOA Server-side Operations for Data Access (cut-outs)"),
    InnerApiKind("posix-collection", f"{INNER_API}#posix-collection", Access.MOUNT,
                 "a read-only POSIX directory tree holding a data collection"),
    InnerApiKind("s3", f"{INNER_API}#s3", Access.NETWORK,
                 "an S3-compatible object store (endpoint URL and bucket)"),
    InnerApiKind("http-files", f"{INNER_API}#http-files", Access.NETWORK,
                 "a plain HTTP file service (GET of paths under a base URL)"),
)}


class UnknownKind(BadRequest, ValueError):
    """A kind of inner API that innerspace does not define."""


def inner_api_kind(name: str) -> InnerApiKind:
    """The kind called `name`; UnknownKind names the known ones."""
    try:
        return INNER_API_KINDS[name]
    except KeyError:
        raise UnknownKind(f"unknown inner API kind {name!r}; known kinds: "
                          f"{', '.join(INNER_API_KINDS)}") from None


def kind_of_standard(standard_id: str) -> InnerApiKind | None:
    """The inner-API kind with this standardID (compared without case), if any."""
    wanted = standard_id.strip().lower()
    return next((k for k in INNER_API_KINDS.values() if k.standard_id.lower() == wanted), None)
