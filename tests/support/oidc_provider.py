"""A real OpenID Connect provider for the tests of innerspace's auth: the node program of
tests/support/oidc/ (oidc-provider 9, a certified OpenID provider) on a free loopback port,
with its users, service clients and audiences given here, and the calls tests make to it:
client credentials, the device flow driven over HTTP as a user would (no browser), refresh,
introspection, revocation, key rotation and a skewed clock for the JWTs it issues.

The node modules are installed once (tests/support/oidc_node.py); the provider's output goes
to a log file whose end every error of this module quotes."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.support.htmlforms import submit
from tests.support.oidc_node import ProviderError, Say, install_modules, stage_script

CLI_CLIENT = "innerspace-cli"
PORTAL_CLIENT = "innerspace-portal"
SERVICE_CLIENT = "innerspace-service"
OPAQUE_CLIENT = "innerspace-opaque"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

TokenResponse = dict[str, Any]


class OAuthError(ProviderError):
    """An OAuth error response (RFC 6749 section 5.2) of the provider."""

    def __init__(self, status: int, error: str, description: str, log: str) -> None:
        super().__init__(f"HTTP {status} {error}: {description}\n{log}")
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class User:
    """Someone who logs in with a password; `groups` goes into their tokens."""

    password: str
    groups: list[str]
    name: str = ""


@dataclass(frozen=True)
class Service:
    """A confidential client of the client-credentials grant (and of introspection);
    `opaque`: its access tokens are opaque, to be introspected."""

    secret: str
    groups: list[str] = field(default_factory=list)
    opaque: bool = False


DEFAULT_USERS = {
    "alice": User("alice-password", ["astro"], "Alice"),
    "bob": User("bob-password", ["astro"], "Bob"),
    "root": User("root-password", ["innerspace-admins"], "Root"),
}
DEFAULT_SERVICES = {
    SERVICE_CLIENT: Service("service-secret", ["innerspace-services"]),
    OPAQUE_CLIENT: Service("opaque-secret", ["innerspace-services"], opaque=True),
}


@dataclass(frozen=True)
class DeviceAuthorization:
    """The answer to a device authorization request (RFC 8628 section 3.2)."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class ProviderState:
    """The provider's test controls: the kids of the keys that sign new tokens (`current`: one
    RS256, one ES256), those its JWKS publishes, and the skew of its JWTs' clock."""

    current: list[str]
    published: list[str]
    clock_offset: int


# -- the provider ---------------------------------------------------------------------------


class OIDCProvider:
    """The test OpenID provider as a subprocess; `start()` it, `stop()` it (or use `with`).

    `audiences` are its resource servers (`NAME` or `NAME=ES256`; the first is every client's
    default), `redirect_uris` those of the portal client, the TTLs in seconds. Clients:
    CLI_CLIENT (public, device flow + refresh), PORTAL_CLIENT (code + PKCE), and one
    confidential client-credentials client per service."""

    def __init__(self, workdir: Path, *, audiences: tuple[str, ...] = ("innerspace",),
                 users: dict[str, User] | None = None,
                 services: dict[str, Service] | None = None,
                 redirect_uris: tuple[str, ...] = (), portal_secret: str = "portal-secret",
                 access_token_ttl: int = 300, refresh_token_ttl: int = 3600,
                 id_token_ttl: int = 300, device_code_ttl: int = 300,
                 device_poll_interval: int = 1,
                 say: Say = lambda _: None) -> None:
        self.workdir = workdir
        self.audiences = audiences
        self.users = DEFAULT_USERS if users is None else users
        self.services = DEFAULT_SERVICES if services is None else services
        self.redirect_uris = redirect_uris
        self.portal_secret = portal_secret
        # device_poll_interval: the `interval` of device authorization answers (RFC 8628 says
        # 5 s without one; 1 s keeps tests of the CLI's polling short).
        self.ttls = {"access-token-ttl": access_token_ttl, "refresh-token-ttl": refresh_token_ttl,
                     "id-token-ttl": id_token_ttl, "device-code-ttl": device_code_ttl,
                     "device-poll-interval": device_poll_interval}
        self.say = say
        self.admin_secret = secrets.token_urlsafe(24)
        self.log_path = workdir / "provider.log"
        self.issuer = ""
        self.indicators: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._discovery: dict[str, Any] | None = None

    # -- running it ---------------------------------------------------------------------

    def start(self, timeout: float = 60) -> OIDCProvider:
        node, modules = install_modules(self.say)
        script = stage_script(modules)
        self.workdir.mkdir(parents=True, exist_ok=True)
        accounts = self.workdir / "accounts.json"
        accounts.write_text(json.dumps({
            "users": {name: asdict(user) for name, user in self.users.items()},
            "services": {name: asdict(service) for name, service in self.services.items()},
        }, indent=1))
        ready = self.workdir / "ready.json"
        ready.unlink(missing_ok=True)
        command = [node, str(script), "--host", "127.0.0.1", "--port", "0",
                   "--ready-file", str(ready), "--accounts", str(accounts),
                   "--portal-secret", self.portal_secret]
        command += [arg for name in self.audiences for arg in ("--audience", name)]
        command += [arg for uri in self.redirect_uris for arg in ("--redirect-uri", uri)]
        command += [arg for name, value in self.ttls.items() for arg in (f"--{name}", str(value))]
        with self.log_path.open("ab") as log:
            # The port is the one the provider got from the kernel (--port 0), read back from
            # the ready file: no window in which another process can take it.
            self._process = subprocess.Popen(
                command, cwd=modules, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "OIDC_TEST_ADMIN_SECRET": self.admin_secret})
        deadline = time.monotonic() + timeout
        while not ready.is_file():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ProviderError(f"the test OpenID provider did not start\n{self.log_tail()}")
            time.sleep(0.05)
        started = json.loads(ready.read_text())
        self.issuer = started["issuer"]
        self.indicators = {entry["audience"]: entry["indicator"]
                           for entry in started["audiences"]}
        try:
            self._discovery = self.discovery()
        except (httpx.HTTPError, ProviderError):
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
            self._process = None

    def __enter__(self) -> OIDCProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return f"-- end of {self.log_path} --\n{self.log_text()[-chars:]}"

    # -- what it publishes --------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        """The discovery document (/.well-known/openid-configuration)."""
        return self._json(httpx.get(f"{self.issuer}/.well-known/openid-configuration",
                                    timeout=30))

    def endpoint(self, name: str) -> str:
        """An endpoint of the discovery document, e.g. "token" for token_endpoint."""
        assert self._discovery is not None, "the provider is not started"
        return str(self._discovery[f"{name}_endpoint"])

    def jwks(self) -> dict[str, Any]:
        """The published JSON Web Key Set."""
        assert self._discovery is not None, "the provider is not started"
        return self._json(httpx.get(self._discovery["jwks_uri"], timeout=30))

    def resource(self, audience: str) -> str:
        """The resource indicator (RFC 8707) to ask for an audience with: resource indicators
        are absolute URIs, so the provider gives a plain name NAME the indicator urn:NAME.
        (An audience it does not know is asked for the same way, and refused.)"""
        audience = audience.partition("=")[0]
        return self.indicators.get(audience, f"urn:{audience}")

    # -- tokens ------------------------------------------------------------------------

    def client_auth(self, client: str) -> httpx.BasicAuth | None:
        """HTTP Basic credentials of a confidential client; None for the public CLI client."""
        if client == PORTAL_CLIENT:
            return httpx.BasicAuth(client, self.portal_secret)
        if client in self.services:
            return httpx.BasicAuth(client, self.services[client].secret)
        return None

    def client_post(self, endpoint: str, client: str, **form: str) -> httpx.Response:
        """POST a form to an endpoint of the discovery document as `client` (HTTP Basic for
        a confidential client, client_id in the form for the public one)."""
        auth = self.client_auth(client)
        data = form if auth else {**form, "client_id": client}
        return httpx.post(self.endpoint(endpoint), data=data, auth=auth, timeout=30)

    def token_request(self, client: str, **form: str) -> TokenResponse:
        """POST to the token endpoint as `client`; raises OAuthError for an error answer."""
        return self._json(self.client_post("token", client, **form))

    def client_credentials_token(self, client: str = SERVICE_CLIENT,
                                 audience: str | None = None) -> TokenResponse:
        """A client-credentials token of a service for `audience` (default: the first)."""
        return self.token_request(client, grant_type="client_credentials",
                                  resource=self.resource(audience or self.audiences[0]))

    def start_device_authorization(self, client: str = CLI_CLIENT,
                                   scope: str = "openid offline_access",
                                   audience: str | None = None) -> DeviceAuthorization:
        """What a device-flow client does first (RFC 8628 section 3.1)."""
        form = {"client_id": client, "scope": scope}
        if audience is not None:
            form["resource"] = self.resource(audience)
        answer = self._json(httpx.post(self.endpoint("device_authorization"), data=form,
                                       timeout=30))
        return DeviceAuthorization(**{name: answer[name] for name in
                                      DeviceAuthorization.__dataclass_fields__})

    @property
    def verification_uri(self) -> str:
        """Where users enter a device flow's user code (provider.mjs routes it there)."""
        return f"{self.issuer}/device"

    def approve_device(self, user_code: str, username: str, password: str) -> None:
        """What the user does in a browser for a device flow that any program started: open
        the verification page, enter the user code, confirm it, sign in (consent is
        automatic). Raises ProviderError, quoting the last page, when the provider refuses."""
        with httpx.Client(follow_redirects=True, timeout=30) as browser:
            try:
                page = browser.get(self.verification_uri)
                page = submit(browser, page, "op.deviceInputForm", user_code=user_code)
                page = submit(browser, page, "op.deviceConfirmForm")  # absent: a bad code
                if "/interaction/" in str(page.url):  # no session yet: the sign-in form
                    page = submit(browser, page, "login", username=username,
                                  password=password)
            except LookupError as exc:
                raise ProviderError(f"the device was not approved: {exc}\n"
                                    f"{self.log_tail()}") from exc
        if page.status_code != 200 or 'id="device-success"' not in page.text:
            raise ProviderError(f"the device was not approved (HTTP {page.status_code} at "
                                f"{page.url}):\n{page.text[:2000]}\n{self.log_tail()}")

    def poll_device_token(self, device: DeviceAuthorization,
                          client: str = CLI_CLIENT) -> TokenResponse:
        """Poll the token endpoint as RFC 8628 section 3.4 says until the user has decided or
        the device code has expired (OAuthError then, as for any other refusal)."""
        deadline = time.monotonic() + device.expires_in
        interval = device.interval
        while True:
            try:
                return self.token_request(client, grant_type=DEVICE_GRANT,
                                          device_code=device.device_code)
            except OAuthError as error:
                if error.error not in ("authorization_pending", "slow_down") or \
                        time.monotonic() > deadline:
                    raise
                if error.error == "slow_down":
                    interval += 5
            time.sleep(interval)

    def device_login(self, username: str, password: str, client: str = CLI_CLIENT,
                     scope: str = "openid offline_access",
                     audience: str | None = None) -> TokenResponse:
        """The whole device flow: start it, approve it as the user, get the tokens."""
        device = self.start_device_authorization(client, scope, audience)
        self.approve_device(device.user_code, username, password)
        return self.poll_device_token(device, client)

    def portal_login(self, username: str, password: str, redirect_uri: str,
                     scope: str = "openid") -> TokenResponse:
        """The web portal's sign-in: authorization code with PKCE (S256) through the sign-in
        page, stopping at `redirect_uri` (one of the portal's; it is never fetched), then
        the code exchanged for tokens."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        state = secrets.token_urlsafe(16)
        query = {"client_id": PORTAL_CLIENT, "response_type": "code", "scope": scope,
                 "redirect_uri": redirect_uri, "state": state, "code_challenge_method": "S256",
                 "code_challenge": challenge.decode().rstrip("=")}
        if "offline_access" in scope.split():  # only granted with an explicit consent prompt
            query["prompt"] = "consent"
        with httpx.Client(follow_redirects=False, timeout=30) as browser:
            page = browser.get(self.endpoint("authorization"), params=query)
            for _ in range(10):
                location = urljoin(str(page.url), page.headers.get("location", ""))
                if page.is_redirect and location.startswith(redirect_uri):
                    break
                if page.is_redirect:
                    page = browser.get(location)
                elif page.status_code == 200 and 'id="login"' in page.text:
                    page = submit(browser, page, "login", username=username, password=password)
                else:
                    break
            else:
                location = ""
        answer = parse_qs(urlsplit(location).query) if location.startswith(redirect_uri) else {}
        if answer.get("state") != [state] or "code" not in answer:
            raise ProviderError(f"no authorization code (HTTP {page.status_code} at {page.url}"
                                f", {answer}):\n{page.text[:2000]}\n{self.log_tail()}")
        return self.token_request(PORTAL_CLIENT, grant_type="authorization_code",
                                  code=answer["code"][0], redirect_uri=redirect_uri,
                                  code_verifier=verifier)

    def refresh(self, refresh_token: str, client: str = CLI_CLIENT) -> TokenResponse:
        return self.token_request(client, grant_type="refresh_token",
                                  refresh_token=refresh_token)

    def introspect(self, token: str, client: str = SERVICE_CLIENT) -> dict[str, Any]:
        """RFC 7662 introspection, authenticated as a service (as innerspace will)."""
        return self._json(self.client_post("introspection", client, token=token))

    def revoke(self, token: str, client: str = SERVICE_CLIENT) -> None:
        """RFC 7009 revocation, by the client the token was issued to."""
        response = self.client_post("revocation", client, token=token)
        if response.status_code != 200:
            self._json(response)

    # -- test-only controls ---------------------------------------------------------------

    def rotate_keys(self, retain: int = 1) -> ProviderState:
        """A new RS256 and ES256 key sign from now on; the `retain` latest older key pairs
        stay published (so the first key goes at the second rotation; 0 drops it now)."""
        return self._admin("POST", "keys/rotate", {"retain": retain})

    def key_state(self) -> ProviderState:
        return self._admin("GET", "state")

    def set_token_clock(self, offset: int) -> ProviderState:
        """Add `offset` seconds to iat, nbf and exp of the JWT access tokens issued from now
        on (negative: already expired tokens; positive: not yet valid ones). The provider's
        own bookkeeping (sessions, refresh, opaque tokens) keeps the real clock."""
        return self._admin("POST", "clock", {"offset": offset})

    @contextlib.contextmanager
    def token_clock(self, offset: int) -> Iterator[None]:
        """set_token_clock for a block, then back to the real clock."""
        self.set_token_clock(offset)
        try:
            yield
        finally:
            self.set_token_clock(0)

    # -- plumbing -------------------------------------------------------------------------

    def _admin(self, method: str, route: str, body: dict[str, Any] | None = None) -> ProviderState:
        response = httpx.request(method, f"{self.issuer}/_test/{route}", json=body,
                                 headers={"Authorization": f"Bearer {self.admin_secret}"},
                                 timeout=60)
        return ProviderState(**self._json(response))

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(f"{response.request.method} {response.request.url}: HTTP "
                                f"{response.status_code}, not a JSON object:\n"
                                f"{response.text[:2000]}\n{self.log_tail()}")
        if response.status_code >= 400 or "error" in body:
            raise OAuthError(response.status_code, str(body.get("error")),
                             str(body.get("error_description", "")), self.log_tail())
        return body
