"""An OAuth issuer and a protected service as an httpx MockTransport, for unit tests of the
CLI's login (client/login.py, client/tokens.py) without a network: discovery, the device
flow (answers scripted by the test: pending, slow_down, denied...), refresh with rotating
refresh tokens, revocation, and a service that takes only the current access token."""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

ISSUER = "https://issuer.example"
SERVICE = "https://service.example"
CLIENT_ID = "innerspace-cli"


def _json(status: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json=body)


@dataclass
class FakeIssuer:
    """`device_answers`: what the token endpoint says to each poll before the tokens
    (error codes such as "authorization_pending"); the tokens it issues are numbered."""

    device_answers: list[str] = field(default_factory=list)
    expires_in: int = 300
    metadata: dict[str, Any] | None = None
    discovery_issuer: str = ISSUER
    revocation: bool = True
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    valid_access: str | None = None  # the access token the service takes
    refresh_tokens: set[str] = field(default_factory=set)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport())

    def issue(self) -> dict[str, Any]:
        number = next(self._serial)
        access, refresh = f"access-{number}", f"refresh-{number}"
        self.valid_access = access
        self.refresh_tokens.add(refresh)
        claims = json.dumps({"sub": "u1", "preferred_username": "alice"}).encode()
        payload = base64.urlsafe_b64encode(claims).decode().rstrip("=")
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": self.expires_in, "id_token": f"e30.{payload}.sig",
                "scope": "openid offline_access"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode()) if request.method == "POST" else {}
        url = str(request.url).split("?")[0]
        self.requests.append((request.method, url, form))
        if url == f"{SERVICE}/.well-known/oauth-protected-resource":
            if self.metadata is None:
                return _json(404, {"error": "not found"})
            return _json(200, self.metadata)
        if url == f"{ISSUER}/.well-known/openid-configuration":
            document = {"issuer": self.discovery_issuer,
                        "device_authorization_endpoint": f"{ISSUER}/device/auth",
                        "token_endpoint": f"{ISSUER}/token"}
            if self.revocation:
                document["revocation_endpoint"] = f"{ISSUER}/revoke"
            return _json(200, document)
        if url == f"{ISSUER}/device/auth":
            return _json(200, {"device_code": "dev-code-secret", "user_code": "WXYZ-1234",
                               "verification_uri": f"{ISSUER}/device",
                               "verification_uri_complete":
                                   f"{ISSUER}/device?user_code=WXYZ-1234",
                               "expires_in": 600, "interval": 2})
        if url == f"{ISSUER}/token":
            return self.token(form)
        if url == f"{ISSUER}/revoke":
            self.revoked.add(form["token"][0])
            self.refresh_tokens.discard(form["token"][0])
            return httpx.Response(200)
        if url.startswith(SERVICE):
            given = request.headers.get("authorization", "")
            if self.valid_access and given == f"Bearer {self.valid_access}":
                return _json(200, {"ok": True})
            return httpx.Response(401, headers={"WWW-Authenticate": "Bearer"})
        return _json(404, {"error": "unknown"})

    def token(self, form: dict[str, list[str]]) -> httpx.Response:
        grant = form.get("grant_type", [""])[0]
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            if self.device_answers:
                return _json(400, {"error": self.device_answers.pop(0)})
            return _json(200, self.issue())
        if grant == "refresh_token":
            token = form.get("refresh_token", [""])[0]
            if token not in self.refresh_tokens:
                return _json(400, {"error": "invalid_grant"})
            self.refresh_tokens.discard(token)  # rotated
            return _json(200, self.issue())
        return _json(400, {"error": "unsupported_grant_type"})
