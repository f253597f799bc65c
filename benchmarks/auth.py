"""Benchmark 10: validating an OpenID Connect bearer token with the issuer's keys cached
(target: < 0.2 ms median per request).

The Authenticator innerspace runs, with its issuer answered in-process (an httpx mock
transport: keys are fetched once, as from a real issuer), validates JWT access tokens as a
request does: the Authorization header parsed, the key looked up by kid, the signature
verified, iss, aud, exp, nbf and iat checked, the caller built from the claims. Measured per
call over many calls, for RS256 (RSA 2048) and ES256 (P-256) tokens, once with the cache of
validated tokens off (every request checks the signature: the figure the target is about)
and once with it on (a caller's next requests). Also the whole request through the
application stack, with and without a token, so the cost shows in context."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from benchmarks.common import summary
from innerspace.auth import Authenticator, Challenges
from innerspace.config import Auth
from innerspace.web.caller import CallerDep, VOAuthenticated

ISSUER = "https://idp.example.org"
TARGET_MS = 0.2
CALLS = 5000
TOKENS = 200  # distinct tokens the calls cycle through


def issuer_transport(keys: dict[str, Any]) -> httpx.MockTransport:
    jwks = {"keys": [
        {**(RSAAlgorithm if alg == "RS256" else ECAlgorithm).to_jwk(
            key.public_key(), as_dict=True), "kid": kid, "alg": alg, "use": "sig"}
        for kid, (alg, key) in keys.items()]}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/jwks":
            return httpx.Response(200, json=jwks)
        return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})

    return httpx.MockTransport(answer)


def make_tokens(kid: str, alg: str, key: Any) -> list[str]:
    now = int(time.time())
    return [jwt.encode({"iss": ISSUER, "aud": "innerspace", "sub": f"user{n}",
                        "groups": ["astro", "radio", "innerspace-admins"], "iat": now,
                        "nbf": now, "exp": now + 3600}, key, algorithm=alg,
                       headers={"kid": kid}) for n in range(TOKENS)]


async def time_calls(authenticator: Authenticator, tokens: list[str]) -> list[float]:
    """Milliseconds of each authenticate() call, after a warm-up (keys fetched)."""
    for token in tokens[:20]:
        await authenticator.authenticate(f"Bearer {token}", "127.0.0.1", {})
    times = []
    for number in range(CALLS):
        header = f"Bearer {tokens[number % len(tokens)]}"
        start = time.perf_counter_ns()
        await authenticator.authenticate(header, "127.0.0.1", {})
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


async def time_requests(app: FastAPI, token: str | None, count: int = 2000) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for _ in range(50):
            await client.get("/whoami", headers=headers)
        times = []
        for _ in range(count):
            start = time.perf_counter_ns()
            answer = await client.get("/whoami", headers=headers)
            times.append((time.perf_counter_ns() - start) / 1e6)
            assert answer.status_code == 200, answer.text
    return times


def whoami_app(auth: Auth, transport: httpx.MockTransport) -> FastAPI:
    """The caller dependency and the identity header in a minimal FastAPI app."""
    app = FastAPI()
    app.state.settings = SimpleNamespace(auth=auth, public_url=None)
    app.state.authenticator = Authenticator(auth, transport=transport)
    app.state.challenges = Challenges(auth)

    @app.get("/whoami")
    async def whoami(caller: CallerDep) -> dict[str, str | None]:
        return {"owner": caller.owner}

    app.add_middleware(VOAuthenticated)
    return app


def run() -> dict[str, Any]:
    keys = {"rsa-1": ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "ec-1": ("ES256", ec.generate_private_key(ec.SECP256R1()))}
    transport = issuer_transport(keys)
    results: dict[str, Any] = {}
    for kid, (alg, key) in keys.items():
        tokens = make_tokens(kid, alg, key)
        for cache, size in (("uncached", 0), ("cached", 10_000)):
            auth = Auth(issuer=ISSUER, audience=["innerspace"], token_cache_size=size,
                        admin_groups=["innerspace-admins"])
            authenticator = Authenticator(auth, transport=transport)
            times = asyncio.run(time_calls(authenticator, tokens))
            results[f"{alg}_{cache}_ms"] = summary(times)
    rs256 = make_tokens("rsa-1", "RS256", keys["rsa-1"][1])[0]
    oidc = Auth(issuer=ISSUER, audience=["innerspace"], token_cache_size=0)
    results["request_rs256_uncached_ms"] = summary(
        asyncio.run(time_requests(whoami_app(oidc, transport), rs256)))
    results["request_anonymous_ms"] = summary(
        asyncio.run(time_requests(whoami_app(Auth(), transport), None)))
    worst = max(results["RS256_uncached_ms"]["median"], results["ES256_uncached_ms"]["median"])
    results["target_ms"] = TARGET_MS
    results["met"] = worst < TARGET_MS
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
