"""Static development tokens: a table of bearer tokens to owners (and groups), from the
configuration. Looked up by a SHA-256 hash of the token: how long a lookup takes then says
nothing about how much of a guess matches a real token."""

from __future__ import annotations

from innerspace.auth.cache import token_key
from innerspace.auth.caller import Caller
from innerspace.auth.claims import caller_of
from innerspace.config import Auth


class StaticTokens:
    def __init__(self, auth: Auth) -> None:
        self._callers = {token_key(token): caller_of(entry.owner, frozenset(entry.groups),
                                                     auth, "token")
                         for token, entry in auth.tokens.items()}

    def __bool__(self) -> bool:
        return bool(self._callers)

    def caller(self, token: str) -> Caller | None:
        """The caller a development token stands for; None when it is not one."""
        return self._callers.get(token_key(token))
