"""Who is calling: what every route learns about its caller, however they were identified."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """Who is calling: the owner their jobs belong to (None: anonymous), their groups, and
    whether they administer this service."""

    owner: str | None
    groups: frozenset[str] = frozenset()
    admin: bool = False
    how: str = "anonymous"  # how they were identified: anonymous, token, oidc, introspection, proxy

    @property
    def authenticated(self) -> bool:
        return self.owner is not None


ANONYMOUS = Caller(None)
