"""UWS requests as the job service takes them: reserved fields split from the app's
parameters, duplicates and misplaced uploads refused, ISO 8601 times, LAST and RUNID."""

from __future__ import annotations

import io

import pytest

from innerspace.errors import BadRequest
from innerspace.uws.request import JobRequest, Upload, parse_time, positive_int, run_id


def test_reserved_fields_are_split_from_parameters() -> None:
    upload = Upload("a.fits", io.BytesIO(b""))
    request = JobRequest.from_fields([
        ("APP", "demo:1.0"), ("phase", "RUN"), ("RunId", "r1"), ("EXECUTIONDURATION", "60"),
        ("destruction", "2030-01-01T00:00:00Z"), ("name", "Ada"), ("image", upload)])
    assert (request.app, request.phase, request.run_id, request.execution_duration,
            request.destruction) == ("demo:1.0", "RUN", "r1", "60", "2030-01-01T00:00:00Z")
    assert request.parameters == [("name", "Ada"), ("image", upload)]


@pytest.mark.parametrize(("fields", "message"), [
    ([("RUNID", "a"), ("runid", "b")], "given more than once"),
    ([("PHASE", Upload("p", io.BytesIO(b"")))], "plain value, not a file"),
])
def test_bad_reserved_fields(fields: list[tuple[str, str | Upload]], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        JobRequest.from_fields(fields)


@pytest.mark.parametrize(("text", "expected"), [
    ("2030-01-01T00:00:00Z", 1893456000.0),
    ("2030-01-01T00:00:00z", 1893456000.0),
    ("2030-01-01T00:00:00", 1893456000.0),  # no zone: UTC
    ("2030-01-01T01:00:00+01:00", 1893456000.0),
    (" 2030-01-01T00:00:00.500Z ", 1893456000.5),
])
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "AFTER is empty"), ("yesterday", "AFTER 'yesterday' is not an ISO 8601 time")])
def test_parse_time_refuses(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_time(text, "AFTER")


@pytest.mark.parametrize(("text", "expected"), [
    ("3", 3), (" 12 ", 12), ("0", None), ("-1", None), ("1e3", None), ("٣", None)])
def test_positive_int(text: str, expected: int | None) -> None:
    assert positive_int(text) == expected


def test_run_id() -> None:
    assert run_id(None) is None and run_id("x" * 255) == "x" * 255
    with pytest.raises(BadRequest, match="longer than 255"):
        run_id("x" * 256)
