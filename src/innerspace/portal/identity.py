"""Who is looking at a page: the same caller as the APIs (web/caller.py) when the request
carries credentials (a bearer token, an authenticating proxy's headers), else the portal
session's (session.py), else anonymous.

`viewer` never refuses a visitor: pages show what anonymous callers may see and offer to log
in. `actor` is the caller of an action (Run, abort, delete): there, a visitor who is not
logged in on a service that refuses anonymous callers gets the 401 the APIs give."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from innerspace.auth import ANONYMOUS, Caller
from innerspace.errors import NotAuthenticated
from innerspace.portal import login, session
from innerspace.web.caller import CALLER_STATE, authenticator, get_caller

_FALLBACK = "innerspace_portal_anonymous"  # state key: anonymous only because no one logged in


async def viewer(request: Request) -> Caller:
    """The caller of a page (anonymous rather than refused when no one is logged in)."""
    state = request.scope.setdefault("state", {})
    if "authorization" not in request.headers:
        found = session.current(request)
        if found is not None and found.owner is not None:
            caller = await _session_caller(request, found)
            if caller is not None:
                state[CALLER_STATE] = caller
                return caller
    try:
        return await get_caller(request)
    except NotAuthenticated:
        if "authorization" in request.headers:
            raise
        state[_FALLBACK] = True
        return ANONYMOUS


async def actor(request: Request) -> Caller:
    """The caller of an action: as `viewer`, but 401 for a visitor who must log in."""
    caller = await viewer(request)
    if request.scope["state"].get(_FALLBACK):
        raise NotAuthenticated("log in to do this: this service does not run jobs for "
                               "anonymous visitors")
    return caller


def must_log_in(request: Request) -> bool:
    """The page's visitor is anonymous only because no one logged in (a page offers it)."""
    return bool(request.scope.get("state", {}).get(_FALLBACK))


async def _session_caller(request: Request, found: session.Session) -> Caller | None:
    """The session's caller; a session holding an access token is checked again (None when
    the token is no longer good: the visitor is then logged out)."""
    if found.token is None:
        return Caller(found.owner, frozenset(found.groups), found.admin, how="session")
    if login.expiring(found):  # renewed with its refresh token, if it came with one
        found = await login.refreshed(request, found) or found
    try:
        return await authenticator(request).token_caller(found.token or "")
    except NotAuthenticated:
        return None


Viewer = Annotated[Caller, Depends(viewer)]
Actor = Annotated[Caller, Depends(actor)]
