"""The service's public base URL, computed one way for every router: the configured
`public_url` (behind a proxy), else the URL the request came to."""

from __future__ import annotations

from fastapi import Request


def base_url(request: Request) -> str:
    """`https://host[:port][/prefix]` without a trailing slash."""
    configured: str | None = request.app.state.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def url_for(request: Request, path: str) -> str:
    """The public URL of `path` (which starts with '/') on this service."""
    return base_url(request) + path
