"""The one error hierarchy (errors.py): each error's HTTP status and code, what a client is
told (topic and message), and the error class for a status the web framework reports."""

from __future__ import annotations

from typing import ClassVar

import pytest

from innerspace import errors
from innerspace.errors import InnerspaceError, for_status


@pytest.mark.parametrize(("cls", "status", "code"), [
    (errors.InnerspaceError, 500, "internal-error"),
    (errors.BadRequest, 400, "bad-request"),
    (errors.NotAuthenticated, 401, "not-authenticated"),
    (errors.Forbidden, 403, "forbidden"),
    (errors.NotFound, 404, "not-found"),
    (errors.MethodNotAllowed, 405, "method-not-allowed"),
    (errors.Conflict, 409, "conflict"),
    (errors.TooLarge, 413, "too-large"),
    (errors.TooMany, 429, "too-many-requests"),
    (errors.Unavailable, 503, "unavailable"),
])
def test_status_and_code(cls: type[InnerspaceError], status: int, code: str) -> None:
    assert (cls.status, cls.code) == (status, code)


def test_a_topic_comes_before_the_message_for_clients() -> None:
    class EngineDown(errors.Unavailable):
        topic: ClassVar[str | None] = "the compute engine is unavailable"

    error = EngineDown("it does not answer")
    assert str(error) == error.message == "it does not answer"
    assert error.describe() == "the compute engine is unavailable: it does not answer"
    assert errors.NotFound("no such job").describe() == "no such job"


@pytest.mark.parametrize(("status", "cls"), [
    (404, errors.NotFound), (405, errors.MethodNotAllowed), (413, errors.TooLarge),
    (418, errors.BadRequest), (500, errors.InnerspaceError), (502, errors.InnerspaceError),
])
def test_for_status(status: int, cls: type[InnerspaceError]) -> None:
    error = for_status(status, "what the framework said")
    assert type(error) is cls and error.message == "what the framework said"
