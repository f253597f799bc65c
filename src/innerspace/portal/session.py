"""The portal's session: a signed cookie, so that the service keeps no session table.

The cookie holds a small JSON payload - the session's random id, its CSRF token, its expiry,
and, once logged in, who the caller is (owner, groups, admin, as innerspace's own
Authenticator found them in the identity provider's token) or the access token itself (then
checked again on every request) - and an HMAC-SHA256 over it. The key is the setting
`portal.session_key` or, without it, a random key kept in data_dir (mode 0600) so that
sessions survive restarts. The cookie is HttpOnly and SameSite=Lax, Secure when the public
URL is https, and never larger than MAX_COOKIE bytes (a browser drops bigger ones).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import Request, Response

from innerspace.config import Settings
from innerspace.errors import BadRequest
from innerspace.web.urls import base_url

COOKIE = "innerspace_session"
MAX_COOKIE = 3800  # bytes of the cookie's value; browsers keep 4096 with the name and flags
KEY_FILE = "portal-session.key"
_STATE = "innerspace_portal_session"  # the request state's key of the request's session


@dataclass(frozen=True)
class Session:
    """One browser's session. `owner` None: not logged in (anonymous, or no one yet)."""

    id: str
    csrf: str
    expires: float
    owner: str | None = None
    groups: tuple[str, ...] = ()
    admin: bool = False
    token: str | None = None  # an access token to check again on every request
    extra: dict[str, str] = field(default_factory=dict)  # small state of a login under way

    @classmethod
    def new(cls, max_age: int) -> Session:
        return cls(id=secrets.token_urlsafe(16), csrf=secrets.token_urlsafe(32),
                   expires=float(int(time.time() + max_age)))  # whole seconds, as kept

    def logged_in(self, owner: str, groups: tuple[str, ...] = (), admin: bool = False,
                  token: str | None = None, max_age: int | None = None) -> Session:
        """This browser after a login: a new id and CSRF token (no fixation), the caller."""
        fresh = Session.new(max_age) if max_age else Session.new(int(self.expires - time.time()))
        return replace(fresh, owner=owner, groups=tuple(groups), admin=admin, token=token)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "csrf": self.csrf, "exp": int(self.expires)}
        if self.owner is not None:
            data.update(owner=self.owner, groups=list(self.groups), admin=self.admin)
        if self.token is not None:
            data["token"] = self.token
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        return cls(id=str(data["id"]), csrf=str(data["csrf"]), expires=float(data["exp"]),
                   owner=data.get("owner"), groups=tuple(data.get("groups", ())),
                   admin=bool(data.get("admin", False)), token=data.get("token"),
                   extra={str(k): str(v) for k, v in data.get("extra", {}).items()})


def session_key(settings: Settings) -> bytes:
    """The signing key: the configured one, else the one kept in data_dir (made once)."""
    if settings.portal.session_key is not None:
        return settings.portal.session_key.get_secret_value().encode()
    path = Path(settings.data_dir) / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # O_EXCL: of two processes starting together, one writes and both then read its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as out:
        out.write(key.hex())
    return key


def _key(request: Request) -> bytes:
    state = request.app.state
    key: bytes | None = getattr(state, "portal_session_key", None)
    if key is None:
        key = state.portal_session_key = session_key(state.settings)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, session: Session) -> str:
    payload = json.dumps(session.to_json(), separators=(",", ":")).encode()
    body = _b64(payload)
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    value = f"{body}.{_b64(mac)}"
    if len(value) > MAX_COOKIE:
        raise BadRequest("the session is too large to keep in a cookie (too many groups?)")
    return value


def unsign(key: bytes, value: str, now: float | None = None) -> Session | None:
    """The session `value` carries, or None when it is forged, damaged or expired."""
    if len(value) > MAX_COOKIE:
        return None
    body, _, mac = value.partition(".")
    try:
        expected = hmac.new(key, body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        session = Session.from_json(json.loads(_unb64(body)))
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        return None
    return session if session.expires > (now or time.time()) else None


def _state(request: Request) -> dict[str, Any]:
    """The request's state (shared by every copy of its scope, as Request.state is)."""
    state: dict[str, Any] = request.scope.setdefault("state", {})
    return state


def current(request: Request) -> Session | None:
    """The session the request's cookie carries (None: none, or not a good one)."""
    if _STATE in _state(request):
        found: Session | None = _state(request)[_STATE]
        return found
    value = request.cookies.get(COOKIE)
    session = unsign(_key(request), value) if value else None
    _state(request)[_STATE] = session
    return session


def ensure(request: Request) -> Session:
    """The request's session, made now when there is none (anonymous visitors get one too,
    for their CSRF token); the response must then carry it (`save`)."""
    session = current(request)
    if session is None:
        session = Session.new(request.app.state.settings.portal.session_max_age)
        _state(request)[_STATE] = session
        _state(request)[_STATE + "_new"] = True
    return session


def replace_session(request: Request, session: Session) -> None:
    """Use `session` from now on (after a login or logout); `save` sends it."""
    _state(request)[_STATE] = session
    _state(request)[_STATE + "_new"] = True


def save(request: Request, response: Response) -> None:
    """Send the session cookie when this request made or changed the session."""
    session = current(request)
    if session is None or not _state(request).get(_STATE + "_new"):
        return
    max_age = max(0, int(session.expires - time.time()))
    response.set_cookie(COOKIE, sign(_key(request), session), max_age=max_age, path="/",
                        httponly=True, samesite="lax",
                        secure=base_url(request).startswith("https://"))


def clear(request: Request, response: Response) -> None:
    """End the session in the browser (log out)."""
    _state(request)[_STATE] = None
    _state(request).pop(_STATE + "_new", None)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=base_url(request).startswith("https://"))
