"""The logins `innerspace login` keeps: one token response per service URL, in
`$XDG_CONFIG_HOME/innerspace/tokens.json` (default ~/.config/innerspace), readable by the
user alone (file 0600, directory 0700), written atomically, and refreshed with the refresh
token when the access token is about to expire (or the service has refused it).

A `Client(url)` without a token uses the login stored for its URL through `LoginAuth`. Two
processes refreshing the same login at once take turns (a lock file): the second finds the
first one's new tokens instead of spending a refresh token that may have been rotated.
Tokens are secrets: nothing here prints, logs or puts them in an error message.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from innerspace.client.errors import ClientError

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: no lock between processes
    fcntl = None  # type: ignore[assignment]

FILE_NAME = "tokens.json"
FORMAT_VERSION = 1
# Refresh this long before the access token expires (at most a fifth of its lifetime), so
# that a token is never sent on its last second.
REFRESH_MARGIN = 60.0


def config_dir() -> Path:
    """Where innerspace keeps the user's configuration: $XDG_CONFIG_HOME/innerspace."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "innerspace"


def service_key(url: str) -> str:
    """The URL a login is stored under: scheme and host in lower case, no trailing slash."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"),
                       "", ""))


class LoginExpired(ClientError):
    """The stored login can no longer be refreshed: the user must log in again."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"your login to {url} has expired ({why}); run `innerspace login "
                         f"--url {url}` again", 401)


@dataclass(frozen=True)
class Login:
    """A login to one service: its tokens and where to refresh them."""

    access_token: str = field(repr=False)
    issuer: str
    client_id: str
    token_endpoint: str
    expires_at: float | None = None  # Unix time; None: the issuer did not say
    lifetime: float | None = None  # the access token's expires_in, seconds
    refresh_token: str | None = field(default=None, repr=False)
    revocation_endpoint: str | None = None
    scope: str | None = None
    user: str | None = None  # who logged in, for display only

    def expires_soon(self, now: float | None = None) -> bool:
        """Whether the access token expires within the refresh margin (a minute, or a
        fifth of its lifetime if that is shorter)."""
        if self.expires_at is None:
            return False
        margin = min(REFRESH_MARGIN, (self.lifetime or REFRESH_MARGIN * 5) / 5)
        return self.expires_at - (time.time() if now is None else now) < margin

    def updated(self, answer: dict[str, Any], now: float | None = None) -> Login:
        """This login after a token response (a refresh may not send a new refresh token:
        the old one stays)."""
        return replace(self, **token_fields(answer, now),
                       refresh_token=answer.get("refresh_token") or self.refresh_token)

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Login:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


def token_fields(answer: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """The parts of a token response (RFC 6749 section 5.1) a login keeps; ClientError for
    one that is not a bearer token."""
    token = answer.get("access_token")
    kind = str(answer.get("token_type", "bearer"))
    if not isinstance(token, str) or not token:
        raise ClientError("the issuer's token response has no access_token")
    if kind.lower() != "bearer":
        raise ClientError(f"the issuer sent a {kind!r} token; innerspace uses bearer tokens")
    expires_in = answer.get("expires_in")
    fields: dict[str, Any] = {"access_token": token, "expires_at": None, "lifetime": None}
    if isinstance(expires_in, int | float) and expires_in > 0:
        fields["expires_at"] = (time.time() if now is None else now) + float(expires_in)
        fields["lifetime"] = float(expires_in)
    if isinstance(answer.get("scope"), str):
        fields["scope"] = answer["scope"]
    return fields


class TokenStore:
    """The logins file. Every method reads the file afresh: other processes write it too."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / FILE_NAME

    def get(self, url: str) -> Login | None:
        entry = self._read().get(service_key(url))
        try:
            return Login.from_json(entry) if isinstance(entry, dict) else None
        except TypeError as exc:
            raise ClientError(f"the login to {url} in {self.path} is unreadable; run "
                              "`innerspace login` again") from exc

    def put(self, url: str, login: Login) -> None:
        logins = self._read()
        logins[service_key(url)] = login.to_json()
        self._write(logins)

    def remove(self, url: str) -> Login | None:
        """Forget the login to `url`; the login it was, if any."""
        logins = self._read()
        entry = logins.pop(service_key(url), None)
        if entry is not None:
            self._write(logins)
        return Login.from_json(entry) if isinstance(entry, dict) else None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock (between processes) for a read-refresh-write."""
        self._ensure_dir()
        with open(self.path.with_suffix(".lock"), "a") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            with self.path.open("rb") as file:
                mode = os.fstat(file.fileno()).st_mode
                if mode & (stat.S_IRWXG | stat.S_IRWXO):
                    raise ClientError(
                        f"{self.path} can be read by other users (mode "
                        f"{stat.S_IMODE(mode):04o}); run `chmod 600 {self.path}` or log in "
                        "again after `innerspace logout`")
                data = json.loads(file.read() or b"{}")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ClientError(f"cannot read the stored logins in {self.path}: "
                              f"{exc.__class__.__name__}") from exc
        logins = data.get("logins") if isinstance(data, dict) else None
        return dict(logins) if isinstance(logins, dict) else {}

    def _ensure_dir(self) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(directory.stat().st_mode) & 0o077:
            directory.chmod(0o700)

    def _write(self, logins: dict[str, Any]) -> None:
        """Replace the file at once: readers see the old or the new file, never half of
        one, and never one with looser permissions."""
        self._ensure_dir()
        handle, temporary = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w") as file:
                os.fchmod(file.fileno(), 0o600)
                json.dump({"version": FORMAT_VERSION, "logins": logins}, file, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def refresh(http: httpx.Client, url: str, login: Login) -> Login:
    """A refreshed login (RFC 6749 section 6, as the public client it was made with);
    LoginExpired when the issuer refuses the refresh token or there is none."""
    if not login.refresh_token:
        raise LoginExpired(url, "the issuer gave no refresh token")
    try:
        response = http.post(login.token_endpoint, data={
            "grant_type": "refresh_token", "refresh_token": login.refresh_token,
            "client_id": login.client_id})
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the issuer {login.issuer} to refresh your login: "
                          f"{exc.__class__.__name__}") from exc
    answer = _json_object(response)
    if response.status_code >= 400 or "error" in answer:
        error = str(answer.get("error", f"HTTP {response.status_code}"))
        if error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            raise LoginExpired(url, f"the issuer answered {error}")
        raise ClientError(f"the issuer {login.issuer} refused to refresh your login: {error}",
                          response.status_code)
    return login.updated(answer)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


class LoginSession:
    """The stored login to one service, kept fresh."""

    def __init__(self, url: str, store: TokenStore, login: Login, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self.store = store
        self.login = login
        self.timeout = timeout
        self.transport = transport  # how to reach the issuer (default: the network)

    @classmethod
    def stored(cls, url: str, store: TokenStore | None = None) -> LoginSession | None:
        """The session of the login stored for `url`; None when there is none."""
        store = store or TokenStore()
        login = store.get(url)
        return cls(url, store, login) if login is not None else None

    def access_token(self, refused: str | None = None) -> str:
        """An access token to send: the stored one, refreshed first when it is about to
        expire or when the service has just `refused` it."""
        login = self.login
        if refused is None and not login.expires_soon():
            return login.access_token
        with self.store.locked():
            latest = self.store.get(self.url) or login
            # Another process may have refreshed it already.
            if latest.access_token != (refused or login.access_token) and \
                    not latest.expires_soon():
                self.login = latest
                return latest.access_token
            with httpx.Client(timeout=self.timeout, transport=self.transport) as http:
                self.login = refresh(http, self.url, latest)
            self.store.put(self.url, self.login)
        return self.login.access_token


class LoginAuth(httpx.Auth):
    """httpx authentication from a stored login: the bearer token on every request, and,
    when the service answers 401 to it, one refresh and one retry."""

    def __init__(self, session: LoginSession) -> None:
        self.session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.session.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self.session.login.refresh_token:
            token = self.session.access_token(refused=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def stored_auth(url: str, store: TokenStore | None = None) -> LoginAuth | None:
    """Authentication from the login stored for `url`, if there is one."""
    session = LoginSession.stored(url, store)
    return LoginAuth(session) if session is not None else None
