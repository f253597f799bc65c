"""Tokens never appear in the service's logs: every kind of token, accepted or refused, and
the identity provider away, with every logger of the process (innerspace, uvicorn and its
access log, httpx, httpcore) at DEBUG and exceptions with their tracebacks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from tests.support.fake_service import FakeEngineService
from tests.support.net import free_port
from tests.support.oidc_provider import OPAQUE_CLIENT, OIDCProvider
from tests.support.oidc_service import alg_none, hs256_with_public_key, oidc_settings

LOGGERS = ("", "innerspace", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore",
           "fastapi", "starlette")


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # with the traceback of exc_info, if any


@contextmanager
def every_log() -> Iterator[Collected]:
    """Every logger at DEBUG into one handler (uvicorn's do not propagate to the root)."""
    handler = Collected()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
            logger.removeHandler(handler)


def secrets_of(token: str) -> list[str]:
    """The token and, for a JWT, its payload and signature on their own."""
    pieces = [token]
    if token.count(".") == 2:
        pieces += [piece for piece in token.split(".")[1:] if len(piece) >= 8]
    return pieces


def test_no_token_is_ever_logged(oidc_provider: OIDCProvider,
                                 make_oidc_provider: Callable[..., OIDCProvider],
                                 make_auth_service: Callable[..., FakeEngineService]) -> None:
    other = make_oidc_provider()
    valid = oidc_provider.client_credentials_token()["access_token"]
    alice = oidc_provider.device_login("alice", "alice-password")["access_token"]
    with oidc_provider.token_clock(-3600):
        expired = oidc_provider.client_credentials_token()["access_token"]
    with oidc_provider.token_clock(3600):
        early = oidc_provider.client_credentials_token()["access_token"]
    opaque = oidc_provider.client_credentials_token(OPAQUE_CLIENT)["access_token"]
    revoked = oidc_provider.client_credentials_token(OPAQUE_CLIENT)["access_token"]
    oidc_provider.revoke(revoked, OPAQUE_CLIENT)
    tokens = {
        valid: 200, alice: 200, opaque: 200, "dev-s3cret-token": 200,
        expired: 401, early: 401, revoked: 401, "wrong-dev-s3cret": 401,
        oidc_provider.client_credentials_token(audience="innerspace-es256")["access_token"]: 401,
        other.client_credentials_token()["access_token"]: 401,
        alg_none(valid): 401, hs256_with_public_key(valid, oidc_provider): 401,
        valid[:-12] + "AAAAAAAAAAAA": 401, "garbage.garbage.garbage": 401,
    }
    service = make_auth_service(**oidc_settings(
        oidc_provider, trusted_proxies=["127.0.0.1"], tokens={"dev-s3cret-token": "dev"},
        introspection_cache=0))
    away = make_auth_service(issuer=f"http://127.0.0.1:{free_port()}", audience=["innerspace"])
    # After the services start: uvicorn sets up its loggers when it is configured.
    with every_log() as log:
        for token, status in tokens.items():
            for headers in ({}, {"X-Auth-Request-Groups": "astro"}):
                answer = httpx.get(f"{service.url}/jobs?PHASE=EXECUTING", timeout=60,
                                   headers={"Authorization": f"Bearer {token}", **headers})
                assert answer.status_code == status, (status, answer.text)
                assert token not in answer.text
        proxied = httpx.get(f"{service.url}/jobs", headers={"X-Auth-Request-User": "ada"})
        assert proxied.headers["x-vo-authenticated"] == "ada"
        assert httpx.get(f"{away.url}/jobs", headers={"Authorization": f"Bearer {valid}"}
                         ).status_code == 503
    text = "\n".join(log.lines)
    # The capture saw the service at work, at every level...
    assert "innerspace.auth INFO fetching the keys of" in text
    assert "innerspace.auth DEBUG alice authenticated by oidc" in text
    assert "innerspace.auth ERROR the identity provider http://127.0.0.1:" in text
    assert "httpcore" in text and "uvicorn.access" in text
    # ... and not one token, payload or signature.
    leaked = [token[:16] for token in tokens if any(s in text for s in secrets_of(token))]
    assert leaked == []
