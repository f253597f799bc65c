"""The one error hierarchy of innerspace.

Every error a request can meet is an `InnerspaceError`: it carries the HTTP status it answers
with and a short protocol-neutral `code`. Errors are raised anywhere below the HTTP layer (the
job service, the catalogue, the registry) without knowing about HTTP; the web layer turns
them into responses in one place (`innerspace.web.errors`), with the renderer of the protocol
the request spoke (UWS plain text, a TAP error VOTable, an OAI-PMH error document, JSON, or an
HTML page).

Subclasses that are also raised inside pydantic validators inherit `ValueError` too, so that
pydantic reports them as validation errors.
"""

from __future__ import annotations

from typing import ClassVar


class InnerspaceError(Exception):
    """Something a request or an operation cannot do; `message` is fit to show a user."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    # What the message is about, shown before it to a client ("the compute engine is
    # unavailable: ..."); the message alone reads well inside a job's error summary.
    topic: ClassVar[str | None] = None
    # Seconds after which the same request may succeed (a 429 or 503 says so in its
    # Retry-After header); None when waiting would not help.
    retry_after: int | None = None

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def describe(self) -> str:
        """The message as a client is told it."""
        return f"{self.topic}: {self.message}" if self.topic else self.message


class BadRequest(InnerspaceError):
    """The request is malformed or its values do not fit; the message names the field."""

    status = 400
    code = "bad-request"


class NotAuthenticated(InnerspaceError):
    """No usable credentials came with a request that needs them."""

    status = 401
    code = "not-authenticated"


class InvalidToken(NotAuthenticated):
    """Credentials came but were refused (expired, forged, for another service...); the
    message says why, never quoting the credentials."""

    code = "invalid-token"


class Forbidden(InnerspaceError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"


class NotFound(InnerspaceError):
    """No such resource (or one the caller may not see: the two look the same)."""

    status = 404
    code = "not-found"


class MethodNotAllowed(InnerspaceError):
    """The resource exists but does not answer this HTTP method."""

    status = 405
    code = "method-not-allowed"


class Conflict(InnerspaceError):
    """The resource's state does not allow the request (e.g. changing a running job)."""

    status = 409
    code = "conflict"


class TooLarge(InnerspaceError):
    """The request is larger than a configured limit; the message names the limit."""

    status = 413
    code = "too-large"


class TooMany(InnerspaceError):
    """A rate or quota limit was reached; the message names it."""

    status = 429
    code = "too-many-requests"


class Unavailable(InnerspaceError):
    """Something the service depends on (engine, registry, catalogue) is away just now."""

    status = 503
    code = "unavailable"


BY_STATUS: dict[int, type[InnerspaceError]] = {
    cls.status: cls for cls in (BadRequest, NotAuthenticated, Forbidden, NotFound,
                                MethodNotAllowed, Conflict, TooLarge, TooMany, Unavailable)}


def for_status(status: int, message: str) -> InnerspaceError:
    """An error of the class that answers with `status` (for errors raised by the web
    framework itself, which carry only a status)."""
    cls = BY_STATUS.get(status) or (BadRequest if 400 <= status < 500 else InnerspaceError)
    return cls(message)


__all__ = ["BadRequest", "Conflict", "Forbidden", "InnerspaceError", "InvalidToken",
           "MethodNotAllowed", "NotAuthenticated", "NotFound", "TooLarge", "TooMany",
           "Unavailable", "for_status"]
