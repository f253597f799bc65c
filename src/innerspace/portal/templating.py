"""The portal's pages come from Jinja2 templates (portal/templates/), rendered here.

One Environment (autoescape on) for the process; `render` gives every template the page's
context plus what every page shows: the caller, the CSRF token (`csrf_field()` in a form),
`static(name)` (a static file's URL, its content hash as `?v=`, so that it may be cached for
a year), `url(path)`, the navigation, the service's title and version. Responses carry the
portal's Content-Security-Policy (scripts and styles from the service only, no inline ones)
and the session cookie when the request made one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

import innerspace
from innerspace.auth import Caller
from innerspace.portal import csrf, identity, session
from innerspace.web.urls import base_url

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
# Pages load scripts, styles, images and event streams from this service only; forms post
# to it only; no page may be framed. Job files keep their own stricter policy.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
               "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")
NAV = (("Home", "/portal"), ("Apps", "/portal/apps"), ("Jobs", "/portal/jobs"),
       ("Federation", "/portal/federation"), ("Registry", "/portal/registry"))
ADMIN_NAV = (("Operators", "/portal/operators"),)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(static=static_url, version=innerspace.__version__)
    return env


@cache
def static_url(name: str) -> str:
    """The URL of a static file, its content's hash in the query (a new one on any change)."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/portal/static/{name}?v={innerspace.__version__}-{digest}"


def title_of(request: Request) -> str:
    settings = request.app.state.settings
    return str(settings.portal.title or settings.datacentre.name)


def page_context(request: Request, caller: Caller | None) -> dict[str, Any]:
    """What every page's template may use besides its own context."""
    token = csrf.token(request)
    admin = bool(caller and caller.admin)
    settings = request.app.state.settings
    return {
        "request": request, "caller": caller, "admin": admin,
        "must_log_in": identity.must_log_in(request),
        "login_enabled": bool(settings.auth.issuer and settings.portal.client_id),
        "csrf_token": token,
        "csrf_field": lambda: Markup('<input type="hidden" name="{}" value="{}">').format(
            csrf.FIELD, token),
        "url": lambda path: base_url(request) + path,
        "path": request.url.path,
        "nav": NAV + (ADMIN_NAV if admin else ()),
        "service_title": title_of(request),
    }


def render(request: Request, name: str, context: Mapping[str, Any] | None = None,
           status: int = 200, caller: Caller | None = None,
           headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """The page `name` (a template) as a response. `caller`: who is looking (else the
    request's caller, if it is known, or no one)."""
    if caller is None:
        found = request.scope.get("state", {}).get("innerspace_caller")
        caller = found if isinstance(found, Caller) else None
    values = page_context(request, caller)
    values.update(context or {})
    body = environment().get_template(name).render(values)
    response = HTMLResponse(body, status_code=status, headers=dict(headers or {}))
    response.headers["Content-Security-Policy"] = page_policy(request)
    response.headers.setdefault("Cache-Control", "private, no-cache")
    session.save(request, response)
    return response


def page_policy(request: Request) -> str:
    """PAGE_POLICY, whose form-action also allows the identity provider when the portal
    offers a login: browsers apply form-action to the redirects after a form is sent, and
    the logout form's answer redirects to the provider's end_session_endpoint."""
    settings = request.app.state.settings
    issuer = settings.auth.issuer if settings.portal.client_id else None
    if not issuer:
        return PAGE_POLICY
    parts = urlsplit(str(issuer))
    return PAGE_POLICY.replace("form-action 'self'",
                               f"form-action 'self' {parts.scheme}://{parts.netloc}")
