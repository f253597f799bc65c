"""Logging in to the portal from a browser: the OpenID Connect authorization code flow with
PKCE (S256) against `auth.issuer`, as the client `portal.client_id`.

`/portal/login` keeps a fresh `state`, `nonce` and PKCE verifier in the (signed) session and
sends the browser to the issuer's authorization endpoint; `/portal/callback` checks the
state, exchanges the code (bounded answers, timeouts), checks the ID token (signature,
issuer, audience = the client, nonce) and the access token with innerspace's own
Authenticator - the very check every API request's bearer token meets - and keeps the access
token in the session (and a refresh token, when the issuer gives one), so that the pages and
their forms act as that user. The APIs never read the session cookie (a cookie-authenticated
API could be driven by another site's forms): only portal/identity.py does.
`/portal/logout` (POST + CSRF) ends the session, and the issuer's too when it advertises an
end_session_endpoint. Every failure is a 400 page saying why.

No login here when the service has no issuer or no portal client (anonymous mode: nothing to
log in to) or sits behind an authenticating proxy (its headers say who the user is).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from jwt.exceptions import InvalidTokenError

from innerspace.auth import Caller
from innerspace.auth.issuer import Issuer, fetch_json
from innerspace.auth.jwt_tokens import unverified_header
from innerspace.config import Settings
from innerspace.errors import BadRequest, InnerspaceError, NotFound
from innerspace.portal import csrf, session
from innerspace.web import forms
from innerspace.web.caller import authenticator
from innerspace.web.urls import base_url

router = APIRouter()

CALLBACK = "/portal/callback"
PENDING = ("state", "nonce", "verifier", "next")  # the session's extra during a login
REFRESH_EARLY = 30.0  # seconds before its expiry an access token is renewed


class LoginFailed(BadRequest):
    """The identity provider's answer does not log anyone in (the reason says why)."""

    code = "login-failed"
    topic = "the login failed"


def available(settings: Settings) -> bool:
    """Whether this portal offers a login (an issuer and the portal's client at it)."""
    return bool(settings.auth.issuer and settings.portal.client_id)


def safe_next(target: str | None) -> str:
    """Where to go after the login: a portal page of this service, nothing else (an open
    redirect would lend the service's name to any site)."""
    if target and target.startswith("/portal") and "//" not in target and "\\" not in target:
        return target
    return "/portal"


def _issuer(request: Request) -> Issuer:
    issuer = authenticator(request).issuer
    if issuer is None or not request.app.state.settings.portal.client_id:
        raise NotFound("this service offers no login: "
                       + ("its authenticating proxy says who you are"
                          if request.app.state.settings.auth.trusted_proxies else
                          "no identity provider and portal client are configured "
                          "(auth.issuer, portal.client_id)"))
    return issuer


def _endpoint(metadata: dict[str, Any], name: str) -> str:
    url = metadata.get(name)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise LoginFailed(f"the identity provider advertises no {name}")
    return url


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _redirect(request: Request, location: str) -> Response:
    response = RedirectResponse(location, status_code=303,
                                headers={"Cache-Control": "no-store"})
    session.save(request, response)
    return response


@router.get("/portal/login", include_in_schema=False)
async def login(request: Request, next: str | None = None) -> Response:
    settings = request.app.state.settings
    metadata = await _issuer(request).metadata()
    pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
               "verifier": secrets.token_urlsafe(48), "next": safe_next(next)}
    current = session.ensure(request)
    session.replace_session(request, replace(current, extra=pending))
    query = {"client_id": settings.portal.client_id, "response_type": "code",
             "scope": settings.portal.scopes, "redirect_uri": base_url(request) + CALLBACK,
             "state": pending["state"], "nonce": pending["nonce"],
             "code_challenge": _challenge(pending["verifier"]),
             "code_challenge_method": "S256"}
    if "offline_access" in settings.portal.scopes.split():
        query["prompt"] = "consent"  # OpenID Connect gives offline access only then
    return _redirect(request, f"{_endpoint(metadata, 'authorization_endpoint')}?"
                              f"{urlencode(query)}")


async def _token_request(request: Request, issuer: Issuer, **form: str) -> dict[str, Any]:
    """POST to the issuer's token endpoint as the portal's client; its JSON answer."""
    settings = request.app.state.settings
    portal = settings.portal
    endpoint = _endpoint(await issuer.metadata(), "token_endpoint")
    client_id = portal.client_id or ""
    auth = (httpx.BasicAuth(client_id, portal.client_secret.get_secret_value())
            if portal.client_secret is not None else None)
    if auth is None:  # a public client names itself; PKCE is its proof
        form["client_id"] = client_id
    async with issuer.client() as client:
        status, answer = await fetch_json(client, "POST", endpoint, data=form, auth=auth)
    if status != 200 or not isinstance(answer.get("access_token"), str):
        error = str(answer.get("error", f"HTTP {status}"))[:100]
        described = str(answer.get("error_description", ""))[:300]
        raise LoginFailed(f"the identity provider gave no tokens ({error}"
                          + (f": {described}" if described else "") + ")")
    return answer


async def _check_id_token(request: Request, issuer: Issuer, id_token: str,
                          nonce: str) -> None:
    """The ID token is the issuer's, for this client, of this login (its nonce)."""
    settings = request.app.state.settings
    header = unverified_header(id_token)
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in settings.auth.algorithms:
        raise LoginFailed("the ID token is not signed with an accepted algorithm")
    kid = header.get("kid")
    key = await issuer.key(kid if isinstance(kid, str) else None, algorithm)
    try:
        claims = jwt.decode(id_token, key.jwk.key, algorithms=[algorithm],
                            audience=settings.portal.client_id, issuer=issuer.url,
                            leeway=settings.auth.leeway,
                            options={"require": ["exp", "iat", "iss", "aud", "sub"]})
    except InvalidTokenError as exc:
        raise LoginFailed(f"the ID token is refused: {exc}") from exc
    if not secrets.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise LoginFailed("the ID token is not of this login (its nonce differs)")


async def _caller_of(request: Request, access_token: str) -> Caller:
    try:
        return await authenticator(request).token_caller(access_token)
    except InnerspaceError as exc:
        if exc.status >= 500:
            raise
        raise LoginFailed(f"the access token is refused: {exc.describe()}") from exc


def _logged_in(request: Request, found: session.Session, caller: Caller,
               answer: dict[str, Any]) -> session.Session:
    """The session of `caller`, holding the access token (checked again on every request)
    and what renews it."""
    settings = request.app.state.settings
    fresh = found.logged_in(caller.owner or "", tuple(sorted(caller.groups)), caller.admin,
                            token=str(answer["access_token"]),
                            max_age=settings.portal.session_max_age)
    extra: dict[str, str] = {}
    expires_in = answer.get("expires_in")
    if isinstance(expires_in, int | float):
        extra["token_exp"] = str(int(time.time() + float(expires_in)))
    if isinstance(answer.get("refresh_token"), str):
        extra["refresh"] = str(answer["refresh_token"])
    return replace(fresh, extra=extra)


@router.get("/portal/callback", include_in_schema=False)
async def callback(request: Request, state: str | None = None, code: str | None = None,
                   error: str | None = None,
                   error_description: str | None = None) -> Response:
    issuer = _issuer(request)
    found = session.current(request)
    pending = found.extra if found is not None else {}
    if not all(pending.get(name) for name in PENDING) or found is None:
        raise LoginFailed("no login was started from this browser (or its session ended): "
                          "log in again")
    # This login's state is spent by any answer, good or bad.
    session.replace_session(request, replace(found, extra={}))
    if not state or not secrets.compare_digest(state.encode(), pending["state"].encode()):
        raise LoginFailed("the answer's state is not that of the login this browser started "
                          "(an answer meant for another browser, or an old one)")
    if error:
        raise LoginFailed(f"the identity provider refused ({error[:100]}"
                          + (f": {error_description[:300]}" if error_description else "")
                          + ")")
    if not code:
        raise LoginFailed("the identity provider's answer carries no code")
    answer = await _token_request(
        request, issuer, grant_type="authorization_code", code=code,
        redirect_uri=base_url(request) + CALLBACK, code_verifier=pending["verifier"])
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        raise LoginFailed("the identity provider gave no ID token (is `openid` among the "
                          "portal's scopes?)")
    await _check_id_token(request, issuer, id_token, pending["nonce"])
    caller = await _caller_of(request, str(answer["access_token"]))
    if caller.owner is None:
        raise LoginFailed("the access token names no one")
    session.replace_session(request, _logged_in(request, found, caller, answer))
    return _redirect(request, pending["next"])


async def refreshed(request: Request, found: session.Session) -> session.Session | None:
    """`found` with a new access token, when its own is about to expire and a refresh token
    renews it (None: it cannot be renewed; the visitor logs in again)."""
    refresh_token = found.extra.get("refresh")
    if not refresh_token or authenticator(request).issuer is None:
        return None
    try:
        answer = await _token_request(request, _issuer(request),
                                      grant_type="refresh_token", refresh_token=refresh_token)
        caller = await _caller_of(request, str(answer["access_token"]))
    except InnerspaceError:
        return None
    renewed = _logged_in(request, found, caller, answer)
    if "refresh" not in renewed.extra:  # an issuer that does not rotate them: keep it
        renewed.extra["refresh"] = refresh_token
    # The same session id and CSRF token: forms open in other tabs still work.
    renewed = replace(renewed, id=found.id, csrf=found.csrf, expires=found.expires)
    session.replace_session(request, renewed)
    return renewed


def expiring(found: session.Session) -> bool:
    """The session's access token expires within REFRESH_EARLY seconds."""
    expiry = found.extra.get("token_exp")
    return bool(expiry and expiry.isdigit() and int(expiry) - REFRESH_EARLY < time.time())


Fields = Annotated[list[forms.Field], Depends(csrf.checked_form)]


@router.post("/portal/logout", include_in_schema=False)
async def logout(request: Request, _: Fields) -> Response:
    issuer = authenticator(request).issuer
    metadata = issuer.cached_metadata() if issuer is not None else None
    end = metadata.get("end_session_endpoint") if metadata else None
    settings = request.app.state.settings
    location = "/portal"
    if isinstance(end, str) and end.startswith(("https://", "http://")) \
            and settings.portal.client_id:
        # RP-initiated logout: the issuer ends its own session (and asks the user).
        location = f"{end}?{urlencode({'client_id': settings.portal.client_id})}"
    response = RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})
    session.clear(request, response)
    return response
