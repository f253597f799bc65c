"""From a token's claims (or a proxy's headers) to a Caller: the owner, the groups, whether
they administer the service. One place, so that every way in names callers alike."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from innerspace.auth.caller import Caller
from innerspace.config import Auth
from innerspace.errors import InvalidToken

MAX_OWNER = 255  # the job store's owner column
MAX_GROUPS = 1000
MAX_GROUP = 255
# Owners go into XML, file paths of nothing, and the X-VO-Authenticated header: printable
# characters only (no controls, no line breaks).
PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")
SEPARATORS = re.compile(r"[\s,]+")


def usable_owner(value: Any, where: str) -> str:
    """`value` as an owner, or InvalidToken naming `where` it came from."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidToken(f"the {where} names no owner")
    owner = str(value).strip()
    if not owner or len(owner) > MAX_OWNER or not PRINTABLE.match(owner):
        raise InvalidToken(f"the owner in the {where} is empty, longer than {MAX_OWNER} "
                           "characters or not printable")
    return owner


def group_names(value: Any) -> frozenset[str]:
    """Groups from a list of names, or a string of names separated by spaces or commas;
    anything else, more than MAX_GROUPS names, or names too long to be real count as none."""
    items: list[Any]
    if isinstance(value, str):
        items = SEPARATORS.split(value)
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return frozenset()
    if len(items) > MAX_GROUPS:
        return frozenset()
    names = (item.strip() for item in items if isinstance(item, str))
    return frozenset(name for name in names
                     if name and len(name) <= MAX_GROUP and PRINTABLE.match(name))


def caller_of(owner: str, groups: frozenset[str], auth: Auth, how: str) -> Caller:
    return Caller(owner, groups, admin=bool(groups & set(auth.admin_groups)), how=how)


def caller_from_claims(claims: Mapping[str, Any], auth: Auth, how: str) -> Caller:
    """The caller a validated token's claims describe. Without the owner claim, a token of
    the client-credentials grant (no end user) is owned by its client_id, as RFC 9068 has
    `sub` be the client's id then."""
    value = claims.get(auth.owner_claim)
    if value is None and auth.owner_claim == "sub":
        value = claims.get("client_id")
    owner = usable_owner(value, f"token's {auth.owner_claim} claim")
    return caller_of(owner, group_names(claims.get(auth.groups_claim)), auth, how)
