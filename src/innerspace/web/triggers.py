"""Operator triggers: POST requests that start costly work on demand (harvesting every peer
registry, rebuilding the registry, reading the app repository again). Each kind of trigger
has a token bucket per service: `trigger_burst` calls at once, then one per
`trigger_interval` seconds (registry settings); a call beyond that answers 429 with
Retry-After and starts nothing, so that no caller can keep the service harvesting or
rebuilding.

Who may trigger (`may_trigger`, the one place that decides): the service's administrators
(members of `auth.admin_groups`) once any authentication is configured; anyone while the
service is an anonymous development one with no authentication at all.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from innerspace.auth import Caller
from innerspace.config import Settings
from innerspace.errors import Forbidden, TooMany
from innerspace.web.caller import CallerDep


class TokenBucket:
    """`burst` tokens, one more every `interval` seconds; `take` spends one."""

    def __init__(self, interval: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when a token was spent; else the seconds until the next one."""
        if self.interval <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) / self.interval)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) * self.interval


def may_trigger(settings: Settings, caller: Caller, kind: str) -> None:
    """Refuse (403) a caller who may not trigger `kind` of operator work, saying who may."""
    if caller.admin or not settings.auth.configured:
        return
    groups = ", ".join(settings.auth.admin_groups)
    who = (f"members of the administrator groups ({groups})" if groups else
           "administrators, and this service names no administrator groups "
           "(auth.admin_groups)")
    raise Forbidden(f"{kind} is for {who} only")


def buckets(request: Request) -> dict[str, TokenBucket]:
    """The service's buckets, by kind of trigger (made on first use)."""
    state = request.app.state
    found: dict[str, TokenBucket] | None = getattr(state, "trigger_buckets", None)
    if found is None:
        found = state.trigger_buckets = {}
    return found


def trigger(kind: str) -> Callable[..., Awaitable[None]]:
    """A route dependency: the caller may trigger `kind` of work now, else 403 or 429."""

    # A coroutine, so that FastAPI does not hand it to a worker thread.
    async def check(request: Request, caller: CallerDep) -> None:
        take_turn(request, caller, kind)

    return check


def take_turn(request: Request, caller: Caller, kind: str) -> None:
    """The caller may trigger `kind` of work now (403 or 429 otherwise): the check of the
    `trigger` dependency, for the portal's buttons too (one bucket per kind for both)."""
    may_trigger(request.app.state.settings, caller, kind)
    limits: Any = request.app.state.settings.registry
    bucket = buckets(request).setdefault(
        kind, TokenBucket(limits.trigger_interval, limits.trigger_burst))
    wait = bucket.take()
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooMany(f"{kind} was asked for too often: it may run once every "
                      f"{bucket.interval:g} s (a burst of {bucket.burst} allowed); try "
                      f"again in {seconds} s", retry_after=seconds)
