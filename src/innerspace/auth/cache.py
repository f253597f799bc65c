"""Tokens already validated, remembered by a hash of the token (never the token itself) and
never past their expiry: a caller's next requests skip the signature check."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from innerspace.auth.caller import Caller


def token_key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenCache:
    """At most `size` entries, the least recently used dropped first."""

    def __init__(self, size: int, clock: Callable[[], float] = time.time) -> None:
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[bytes, tuple[Caller, float]] = OrderedDict()

    def get(self, token: str) -> Caller | None:
        key = token_key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        caller, until = entry
        if self.clock() >= until:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return caller

    def put(self, token: str, caller: Caller, until: float) -> None:
        """Remember `caller` for `token` until `until` (epoch seconds: at most its exp)."""
        if self.size <= 0 or until <= self.clock():
            return
        key = token_key(token)
        self._entries[key] = (caller, until)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
