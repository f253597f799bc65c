"""CSRF protection of the portal's forms: every POST form carries the session's token in a
hidden field `csrf_token` (templates: `{{ csrf_field() }}`), and every portal POST is
refused (403, naming the field) unless it comes back. Scripts that post without a form send
it in the `X-CSRF-Token` header. The cross-site check of web/sites.py (Origin) comes first;
this one also covers browsers that send no Origin."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Sequence

from fastapi import Request
from starlette.datastructures import UploadFile

from innerspace.errors import Forbidden
from innerspace.portal import session
from innerspace.web import forms

FIELD = "csrf_token"
HEADER = "x-csrf-token"


def token(request: Request) -> str:
    """The token of the request's session (a session is made for anonymous visitors)."""
    return session.ensure(request).csrf


def submitted(fields: Sequence[tuple[str, str | UploadFile]]) -> str | None:
    for name, value in fields:
        if name == FIELD and isinstance(value, str):
            return value
    return None


def verify(request: Request, given: str | None) -> None:
    """Refuse the request unless `given` (or the header) is its session's token."""
    given = given or request.headers.get(HEADER)
    found = session.current(request)
    if not given or found is None or not hmac.compare_digest(given.encode(),
                                                              found.csrf.encode()):
        raise Forbidden(f"the form's CSRF token ({FIELD}) is missing or does not match "
                        "this browser's session: reload the page and send the form again")


async def checked_form(request: Request) -> AsyncIterator[list[forms.Field]]:
    """A FastAPI dependency: the POST's form fields (urlencoded or multipart, read within
    the service's limits), once its CSRF token is checked; uploads are closed afterwards."""
    async with forms.form_fields(request) as fields:
        verify(request, submitted(fields))
        yield [(name, value) for name, value in fields if name != FIELD]
