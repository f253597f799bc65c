"""Who is asking: bearer tokens map to owners; anonymous access only when configured."""

from __future__ import annotations

import hmac

from innerspace.config import Settings
from innerspace.errors import NotAuthenticated


def owner_for(settings: Settings, authorization: str | None) -> str | None:
    """The owner behind an Authorization header; None means anonymous (when allowed)."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use an 'Authorization: Bearer <token>' header")
        token = token.strip()
        for known, owner in settings.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return owner
        raise NotAuthenticated("the bearer token is not known to this service")
    if settings.anonymous_allowed:
        return None
    raise NotAuthenticated("this service needs a bearer token (Authorization: Bearer ...)")
