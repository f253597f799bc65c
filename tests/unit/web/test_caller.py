"""The caller dependency and what it adds to responses: the identity header of IVOA AuthVO
on responses to authenticated callers (errors included), the service's challenges on every
401 whichever protocol renders it, 503 when the identity provider is away."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
from fastapi import FastAPI

from innerspace.auth import Authenticator, Caller, Challenges
from innerspace.config import Auth
from innerspace.errors import NotFound
from innerspace.web import errors
from innerspace.web.caller import CallerDep, VOAuthenticated, header_value
from tests.support.asgi import request

TOKENS = {"t1": "alice", "t2": {"owner": "Zoë", "groups": ["admins"]}}


def make_app(auth: Auth, wire: bool = True) -> FastAPI:
    app = FastAPI()
    app.state.settings = SimpleNamespace(auth=auth, public_url="https://dc.example.org")
    if wire:
        app.state.challenges = Challenges(auth)

    @app.get("/whoami")
    async def whoami(caller: CallerDep, again: CallerDep) -> dict[str, object]:
        # Two uses of the dependency in one request see the same caller.
        return {"owner": caller.owner, "same": again == caller, "how": caller.how,
                "admin": caller.admin}

    @app.get("/json/missing")
    async def missing(caller: CallerDep) -> None:
        raise NotFound("nothing here")

    renderers = errors.ErrorRenderers(default=errors.plain_text)
    renderers.register("/json", errors.json_document)
    errors.install(app, renderers)
    app.add_middleware(VOAuthenticated)
    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_caller_reaches_the_route_and_the_header_names_them() -> None:
    app = make_app(Auth(tokens=TOKENS, admin_groups=["admins"]))
    answer = request(app, "GET", "/whoami", headers=bearer("t2"))
    assert answer.json() == {"owner": "Zoë", "same": True, "how": "token", "admin": True}
    assert answer.headers["x-vo-authenticated"] == "Zo%C3%AB"
    missing = request(app, "GET", "/json/missing", headers=bearer("t1"))
    assert missing.status_code == 404 and missing.headers["x-vo-authenticated"] == "alice"


def test_no_identity_header_for_anonymous_callers() -> None:
    answer = request(make_app(Auth()), "GET", "/whoami")
    assert answer.json()["owner"] is None and "x-vo-authenticated" not in answer.headers


def test_every_401_carries_the_challenges_whatever_the_protocol() -> None:
    app = make_app(Auth(tokens=TOKENS))
    metadata = 'resource_metadata="https://dc.example.org/.well-known/oauth-protected-resource"'
    plain = request(app, "GET", "/whoami")
    assert plain.status_code == 401 and plain.text.startswith("this service needs a bearer")
    assert plain.headers.get_list("www-authenticate") == [
        f'Bearer realm="innerspace", {metadata}']
    refused = request(app, "GET", "/json/missing", headers=bearer("t3"))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid-token"
    assert refused.headers.get_list("www-authenticate") == [
        f'Bearer realm="innerspace", {metadata}, error="invalid_token", '
        'error_description="the bearer token is not known to this service"']
    assert "x-vo-authenticated" not in refused.headers


def test_without_wiring_a_bare_bearer_challenge_and_a_lazy_authenticator() -> None:
    app = make_app(Auth(tokens=TOKENS), wire=False)
    assert request(app, "GET", "/whoami").headers.get_list("www-authenticate") == ["Bearer"]
    assert request(app, "GET", "/whoami", headers=bearer("t1")).json()["owner"] == "alice"
    assert isinstance(app.state.authenticator, Authenticator)


def test_an_identity_provider_that_is_away_is_503() -> None:
    auth = Auth(issuer="https://idp.example.org", audience="innerspace")
    app = make_app(auth)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    app.state.authenticator = Authenticator(auth, transport=httpx.MockTransport(refuse))
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln"  # {"alg":"RS256","kid":"k1"}
    answer = request(app, "GET", "/whoami", headers=bearer(token))
    assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
    assert answer.text.startswith("the identity provider cannot be reached: "
                                  "https://idp.example.org/.well-known/openid-configuration")


def test_header_values() -> None:
    assert header_value("alice") == "alice"
    assert header_value("http://cilogon.org/serverA/users/1") == \
        "http://cilogon.org/serverA/users/1"
    assert header_value("Zoë\u2028") == "Zo%C3%AB%E2%80%A8"
    assert Caller("x").authenticated
