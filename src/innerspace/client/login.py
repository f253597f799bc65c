"""Logging in to an innerspace service from a terminal: the OAuth 2.0 device authorization
grant (RFC 8628) against the service's OpenID provider, as `innerspace login` runs it.

1. The service says who its issuer is and which public client the CLI is, in its protected
   resource metadata (RFC 9728, /.well-known/oauth-protected-resource) - or the user does.
2. The issuer's discovery document (OpenID Connect Discovery, else RFC 8414) gives its
   device authorization, token and revocation endpoints; its `issuer` must be the one asked.
3. The device authorization gives a user code and where to enter it; the user does, in any
   browser, on any machine, while this polls the token endpoint at the interval the issuer
   asks (slower after `slow_down`), until they have signed in or the code expires.
4. The token response is stored for the service's URL (client/tokens.py).

`logout` forgets the login and revokes its refresh token at the issuer (RFC 7009) when the
issuer offers revocation.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from innerspace.client.errors import ClientError
from innerspace.client.tokens import Login, TokenStore, token_fields

PROTECTED_RESOURCE = "/.well-known/oauth-protected-resource"
# The protected-resource metadata field naming the public client of `innerspace login` (an
# innerspace extension of RFC 9728; auth/ publishes it from auth.cli_client_id).
CLI_CLIENT_FIELD = "innerspace_cli_client_id"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_SCOPE = "openid offline_access"
LOOPBACK = ("localhost", "127.0.0.1", "::1")
MAX_INTERVAL = 60.0  # seconds between polls, at most, however often the issuer says slow down


@dataclass(frozen=True)
class ResourceMetadata:
    """What a service says of itself as an OAuth protected resource."""

    issuers: list[str]
    client_id: str | None
    scopes: list[str]


@dataclass(frozen=True)
class IssuerEndpoints:
    """The endpoints of an issuer the device flow and logout use."""

    issuer: str
    device_authorization: str
    token: str
    revocation: str | None


@dataclass(frozen=True)
class DeviceCode:
    """A device authorization (RFC 8628 section 3.2): what the user enters where."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float
    device_code: str = field(repr=False)


def _get_json(http: httpx.Client, url: str, what: str) -> tuple[int, dict[str, Any]]:
    try:
        response = http.get(url, headers={"Accept": "application/json"})
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach {url} ({what}): {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and not isinstance(body, dict):
        raise ClientError(f"{url} ({what}) is not a JSON object")
    return response.status_code, body if isinstance(body, dict) else {}


def resource_metadata(http: httpx.Client, url: str) -> ResourceMetadata:
    """The service's protected resource metadata: where the service itself serves it, then
    where RFC 9728 puts it for a URL with a path (the well-known part before the path)."""
    base = url.rstrip("/")
    parts = urlsplit(base)
    places = [base + PROTECTED_RESOURCE]
    if parts.path not in ("", "/"):
        places.append(urlunsplit((parts.scheme, parts.netloc, PROTECTED_RESOURCE + parts.path,
                                  "", "")))
    for place in places:
        status, body = _get_json(http, place, "the service's protected resource metadata")
        if status == 200:
            issuers = body.get("authorization_servers")
            if not isinstance(issuers, list) or not all(isinstance(i, str) for i in issuers):
                issuers = []
            client = body.get(CLI_CLIENT_FIELD)
            scopes = body.get("scopes_supported")
            return ResourceMetadata(
                issuers, client if isinstance(client, str) and client else None,
                [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else [])
        if status != 404:
            raise ClientError(f"{place} answered HTTP {status}")
    raise ClientError(f"{url} publishes no {PROTECTED_RESOURCE} (does it use OpenID "
                      "Connect?); give its issuer with --issuer and the CLI's client id with "
                      "--client-id")


def check_issuer_url(issuer: str) -> str:
    """An issuer URL tokens may be asked from: https, or http on this machine only."""
    parts = urlsplit(issuer)
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return issuer.rstrip("/")
    if parts.scheme != "https" or not parts.hostname:
        raise ClientError(f"the issuer {issuer!r} is not an https URL; tokens are not asked "
                          "for over plain HTTP (except on this machine)")
    return issuer.rstrip("/")


def issuer_endpoints(http: httpx.Client, issuer: str) -> IssuerEndpoints:
    """The issuer's endpoints from its discovery document, whose `issuer` must be `issuer`
    itself (so that one issuer cannot pass for another)."""
    issuer = check_issuer_url(issuer)
    for suffix in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        status, document = _get_json(http, issuer + suffix, "the issuer's discovery document")
        if status == 200:
            break
    else:
        raise ClientError(f"the issuer {issuer} publishes no discovery document "
                          "(/.well-known/openid-configuration)")
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ClientError(f"the discovery document of {issuer} names another issuer "
                          f"({document.get('issuer')!r}); refusing it")
    device = document.get("device_authorization_endpoint")
    token = document.get("token_endpoint")
    if not isinstance(device, str) or not isinstance(token, str):
        raise ClientError(f"the issuer {issuer} does not offer the device authorization "
                          "grant (RFC 8628), which `innerspace login` uses")
    revocation = document.get("revocation_endpoint")
    return IssuerEndpoints(issuer, device, token,
                           revocation if isinstance(revocation, str) else None)


def _post(http: httpx.Client, url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = http.post(url, data=form, headers={"Accept": "application/json"})
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body if isinstance(body, dict) else {}


def _oauth_error(body: dict[str, Any], status: int) -> str:
    error = str(body.get("error") or f"HTTP {status}")
    description = body.get("error_description")
    return f"{error}: {description}" if description else error


def start_device_flow(http: httpx.Client, endpoints: IssuerEndpoints, client_id: str,
                      scope: str = DEFAULT_SCOPE) -> DeviceCode:
    """Ask the issuer for a device code and the user code that goes with it."""
    try:
        status, body = _post(http, endpoints.device_authorization,
                             {"client_id": client_id, "scope": scope})
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the issuer {endpoints.issuer}: {exc}") from exc
    if status != 200 or "error" in body:
        raise ClientError(f"the issuer {endpoints.issuer} refused to start a login: "
                          f"{_oauth_error(body, status)}")
    try:
        return DeviceCode(
            user_code=str(body["user_code"]), verification_uri=str(body["verification_uri"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_in=float(body.get("expires_in") or 600),
            interval=float(body.get("interval") or 5), device_code=str(body["device_code"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ClientError(f"the issuer {endpoints.issuer} sent an incomplete device "
                          f"authorization (missing {exc})") from None


def await_token(http: httpx.Client, endpoints: IssuerEndpoints, client_id: str,
                device: DeviceCode, sleep: Callable[[float], None] = time.sleep,
                clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Poll the token endpoint until the user has signed in (the token response), refused,
    or let the code expire (ClientError). Waits `interval` between polls, 5 s more after
    each slow_down, and backs off while the issuer cannot be reached (RFC 8628 section 3.5)."""
    deadline = clock() + device.expires_in
    interval = max(device.interval, 1.0)
    form = {"grant_type": DEVICE_GRANT, "device_code": device.device_code,
            "client_id": client_id}
    while True:
        sleep(interval)
        if clock() > deadline:
            raise ClientError("the code expired before anyone signed in with it; run "
                              "`innerspace login` again")
        try:
            status, body = _post(http, endpoints.token, form)
        except httpx.TransportError:
            interval = min(interval * 2, MAX_INTERVAL)  # the issuer is away: ask less often
            continue
        if status == 200 and "access_token" in body:
            return body
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval = min(interval + 5, MAX_INTERVAL)
            continue
        if error == "access_denied":
            raise ClientError("the sign-in was refused at the issuer")
        if error == "expired_token":
            raise ClientError("the code expired before anyone signed in with it; run "
                              "`innerspace login` again")
        if status >= 500:
            interval = min(interval * 2, MAX_INTERVAL)
            continue
        raise ClientError(f"the issuer {endpoints.issuer} refused the login: "
                          f"{_oauth_error(body, status)}")


def user_of(answer: dict[str, Any]) -> str | None:
    """Who signed in, for display only: the ID token's preferred_username, name or sub.
    (The ID token is read, not verified: nothing is decided on it.)"""
    id_token = answer.get("id_token")
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return None
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if not isinstance(claims, dict):
        return None
    for claim in ("preferred_username", "name", "sub"):
        if isinstance(claims.get(claim), str) and claims[claim]:
            return str(claims[claim])
    return None


@dataclass(frozen=True)
class LoginPlan:
    """Whom to log in with: the issuer's endpoints, the client and the scope."""

    endpoints: IssuerEndpoints
    client_id: str
    scope: str


def plan_login(http: httpx.Client, url: str, issuer: str | None = None,
               client_id: str | None = None, scope: str | None = None) -> LoginPlan:
    """The issuer and client of the service at `url` (its metadata, unless both are given)."""
    if issuer is None or client_id is None:
        metadata = resource_metadata(http, url)
        if issuer is None:
            if not metadata.issuers:
                raise ClientError(f"{url} names no issuer (authorization_servers); give one "
                                  "with --issuer")
            issuer = metadata.issuers[0]
        if client_id is None:
            if metadata.client_id is None:
                raise ClientError(f"{url} names no client for the CLI ({CLI_CLIENT_FIELD}); "
                                  "give one with --client-id")
            client_id = metadata.client_id
    return LoginPlan(issuer_endpoints(http, issuer), client_id, scope or DEFAULT_SCOPE)


def login(url: str, say: Callable[[DeviceCode], None], *, issuer: str | None = None,
          client_id: str | None = None, scope: str | None = None,
          store: TokenStore | None = None, http: httpx.Client | None = None,
          sleep: Callable[[float], None] = time.sleep) -> Login:
    """Log in to the service at `url` by the device flow; `say` tells the user where to
    enter which code. The login is stored and returned."""
    own = http is None
    http = http or httpx.Client(timeout=30.0)
    try:
        plan = plan_login(http, url, issuer, client_id, scope)
        device = start_device_flow(http, plan.endpoints, plan.client_id, plan.scope)
        say(device)
        answer = await_token(http, plan.endpoints, plan.client_id, device, sleep)
    finally:
        if own:
            http.close()
    made = Login(issuer=plan.endpoints.issuer, client_id=plan.client_id,
                 token_endpoint=plan.endpoints.token,
                 revocation_endpoint=plan.endpoints.revocation,
                 refresh_token=answer.get("refresh_token") or None, user=user_of(answer),
                 **token_fields(answer))
    (store or TokenStore()).put(url, made)
    return made


def revoke(http: httpx.Client, login: Login) -> bool:
    """Revoke the login's refresh token (and, where the issuer can, its access token) at the
    issuer; whether the refresh token is revoked (RFC 7009: 200 even for one already gone)."""
    if login.revocation_endpoint is None:
        return False
    revoked = False
    for token, hint in ((login.refresh_token, "refresh_token"),
                        (login.access_token, "access_token")):
        if not token:
            continue
        try:
            status, _ = _post(http, login.revocation_endpoint, {
                "token": token, "token_type_hint": hint, "client_id": login.client_id})
        except httpx.TransportError:
            return revoked
        if hint == "refresh_token":
            revoked = status == 200
    return revoked


def logout(url: str, store: TokenStore | None = None,
           http: httpx.Client | None = None) -> tuple[Login | None, bool]:
    """Forget the login to `url` and revoke it at its issuer: the login it was (None if
    there was none) and whether its refresh token was revoked."""
    store = store or TokenStore()
    with store.locked():
        gone = store.remove(url)
    if gone is None:
        return None, False
    own = http is None
    http = http or httpx.Client(timeout=30.0)
    try:
        return gone, revoke(http, gone)
    finally:
        if own:
            http.close()
