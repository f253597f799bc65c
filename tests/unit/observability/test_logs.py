"""Log lines as JSON objects and as text, with the request id, owner and job they are
about; the logging settings refuse what they do not know."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from innerspace.config import Settings
from innerspace.config.observability import Logging
from innerspace.observability import configure_logging, job_context
from innerspace.observability.context import (
    CALLER_STATE,
    RequestInfo,
    current_job,
    enter_request,
    leave_request,
    request_id_from,
)
from innerspace.observability.logs import JsonFormatter, make_handler
from innerspace.web.caller import CALLER_STATE as WEB_CALLER_STATE

log = logging.getLogger("innerspace.test")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's lines, as `innerspace serve` configures it for JSON."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("json", "debug", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class Who:
    owner = "alice"


def test_a_json_line_carries_its_request_owner_and_job(captured: io.StringIO) -> None:
    scope = {"state": {CALLER_STATE: Who()}, "path_params": {"job_id": "abcdefabcdefabcd"}}
    token = enter_request(RequestInfo("req-1", scope))
    try:
        log.info("hello %s", "there")
    finally:
        leave_request(token)
    log.warning("outside any request")
    inside, outside = lines(captured)[-2:]
    assert inside["message"] == "hello there" and inside["level"] == "INFO"
    assert inside["logger"] == "innerspace.test"
    assert inside["request_id"] == "req-1" and inside["owner"] == "alice"
    assert inside["job_id"] == "abcdefabcdefabcd"
    assert str(inside["time"]).endswith("+00:00")
    assert outside["message"] == "outside any request"
    assert "request_id" not in outside and "owner" not in outside and "job_id" not in outside


def test_the_caller_is_found_where_web_keeps_it() -> None:
    assert CALLER_STATE == WEB_CALLER_STATE


def test_exceptions_and_extra_fields_go_into_the_json_line(captured: io.StringIO) -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("it failed", extra={"status": 500, "route": "/jobs", "secret": "x"})
    line = lines(captured)[-1]
    assert "ValueError: broken" in str(line["exception"])
    assert line["status"] == 500 and line["route"] == "/jobs"
    assert "secret" not in line, "only the known fields of an access line are written"


def test_a_job_task_names_its_job_and_no_request(captured: io.StringIO) -> None:
    async def run() -> None:
        token = enter_request(RequestInfo("req-that-started-it"))
        try:
            task = asyncio.get_running_loop().create_task(_job_body(),
                                                          context=job_context("job42"))
            await task
        finally:
            leave_request(token)

    asyncio.run(run())
    line = lines(captured)[-1]
    assert line["message"] == "running" and line["job_id"] == "job42"
    assert "request_id" not in line


async def _job_body() -> None:
    assert current_job() == "job42"
    log.info("running")


def test_text_lines_show_the_context_in_brackets() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("innerspace.test.text")
    handler = make_handler("text", stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        token = enter_request(RequestInfo("req-7"))
        try:
            logger.warning("careful")
        finally:
            leave_request(token)
        logger.warning("plain")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, second = stream.getvalue().splitlines()
    assert first.endswith("WARNING innerspace.test.text [req-7] careful")
    assert second.endswith("WARNING innerspace.test.text plain")


def test_a_sane_request_id_is_kept_and_anything_else_replaced() -> None:
    for kept in ("3f2a9c", "Root=1-5e1b4151-5ac6c58f", "a.b_c:d/e+f@g-h"):
        assert request_id_from(kept) == kept
    for refused in (None, "", "has space", "quote\"", "x" * 200, "-starts-with-dash",
                    "ünïcode", "line\nbreak"):
        made = request_id_from(refused)
        assert made != refused and len(made) == 32 and made.isalnum()


def test_configure_logging_replaces_its_own_handler_and_refuses_unknown_names() -> None:
    root = logging.getLogger()
    level = root.level
    first = configure_logging("json", "info", io.StringIO())
    second = configure_logging("text", "warning", io.StringIO())
    try:
        assert first not in root.handlers and second in root.handlers
        assert root.level == logging.WARNING
        assert not isinstance(second.formatter, JsonFormatter)
    finally:
        root.removeHandler(second)
        root.setLevel(level)
    with pytest.raises(ValueError, match="log format 'xml'"):
        configure_logging("xml", "info")
    with pytest.raises(ValueError, match="log level 'trace'"):
        configure_logging("json", "trace")


def test_the_logging_settings() -> None:
    assert Logging().format == "text" and Logging().level == "info" and Logging().access_log
    settings = Settings(logging={"format": "JSON", "level": "DEBUG", "access_log": False})
    assert settings.logging == Logging(format="json", level="debug", access_log=False)
    with pytest.raises(ValueError, match=r"logging.format 'yaml' is not one of text, json"):
        Logging(format="yaml")
    with pytest.raises(ValueError, match=r"logging.level 'trace'"):
        Logging(level="trace")  # uvicorn's trace level logs whole requests, headers included
