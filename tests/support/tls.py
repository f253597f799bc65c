"""One default TLS context for every httpx client of the test process.

httpx builds a new `ssl.SSLContext` for every client (and every `httpx.get`), loading
certifi's CA bundle each time: about 30 ms, whether the URL is https or (as for nearly
every test) http on the loopback. The tests make some 450 clients, which made that alone
10 to 15 s of `pytest -m "not docker"`. Clients that ask for the default verification
(`verify=True`, no client certificate) share one context built the same way; any other
`verify` or `cert` goes to httpx unchanged. Verification is exactly what it was: the same
CA bundle, the same settings (httpx never changes a context it was given, apart from ALPN,
which is the same for every client here). Only the test process is affected, never
innerspace itself or the processes the tests start."""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_shared: dict[tuple[bool, str | None, str | None], ssl.SSLContext] = {}


def share_default_context() -> None:
    """Make httpx's transports reuse one default context (idempotent)."""
    from httpx._transports import default

    original: Callable[..., ssl.SSLContext] = default.__dict__["create_ssl_context"]
    if getattr(original, "shares_contexts", False):
        return

    def create(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)
        # The environment variables httpx reads for the default case are part of the key.
        key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        with _lock:
            if key not in _shared:
                _shared[key] = original(verify=True, trust_env=trust_env)
            return _shared[key]

    create.shares_contexts = True  # type: ignore[attr-defined]
    setattr(default, "create_ssl_context", create)  # noqa: B010 (not exported: mypy)
