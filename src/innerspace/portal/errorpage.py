"""Errors under /portal as pages (templates/error.html) in the portal's frame, with a way
back and, for a 401, a way to log in; registered for /portal in server.error_renderers()."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import Response

from innerspace.errors import InnerspaceError
from innerspace.portal.templating import render
from innerspace.web import errors

log = logging.getLogger("innerspace.portal")


def html_error(request: Request, error: InnerspaceError) -> Response:
    """The error as a portal page; the plain HTML page of web/errors.py if that fails (an
    error met before the service is set up must still be answered)."""
    try:
        return render(request, "error.html", {
            "status": error.status, "code": error.code, "message": error.describe(),
        }, status=error.status, headers=errors.challenge_headers(error))
    except Exception:  # the page of an error must never fail in its turn
        log.exception("the portal's error page could not be rendered")
        return errors.html_page(request, error)
