"""The test process's shared TLS context (tests/support/tls.py) verifies as httpx's own
default does, and only the default case is shared."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from tests.support.tls import share_default_context


def context(client: httpx.Client) -> Any:
    return client._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_default_clients_share_one_verifying_context() -> None:
    share_default_context()
    with httpx.Client() as one, httpx.Client() as other, httpx.Client(verify=False) as lax:
        shared = context(one)
        assert shared is context(other)
        assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
        assert shared.cert_store_stats()["x509_ca"] > 0, "the CA bundle is loaded"
        assert context(lax) is not shared and context(lax).verify_mode == ssl.CERT_NONE
