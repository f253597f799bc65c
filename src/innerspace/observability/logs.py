"""How the service logs: as text for a person at a terminal, or one JSON object per line
for a log collector (`logging.format = "json"`), every line with the request id, the caller
and the job it is about when there is one (observability/context.py).

One handler on the root logger formats every logger's lines alike: innerspace's own,
uvicorn's and those of the libraries (httpx, ...). Nothing here ever adds a request's headers,
query string, cookies or body to a line: the access log (observability/requests.py) names the
route, not the URL it was asked with, and httpx's lines lose their query strings.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from innerspace.observability.context import current_job, current_request

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error", "critical")
# What a line may carry besides its message (the access log's fields, set with `extra=`).
EXTRA_FIELDS = ("method", "route", "path", "status", "duration_ms", "client")
_MARK = "_innerspace_handler"  # on the handler configure_logging installs


class ContextFilter(logging.Filter):
    """Adds `request_id`, `owner` and `job_id` (None when there is none) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = current_request()
        if not hasattr(record, "request_id"):
            record.request_id = info.request_id if info else None
        if not hasattr(record, "owner"):
            record.owner = info.owner if info else None
        if not hasattr(record, "job_id"):
            record.job_id = current_job()
        return True


class QueryRedactor(logging.Filter):
    """Drops the query strings of the URLs in httpx's request lines ("HTTP Request: GET
    URL ..."): a client that sent a token or a code in a query (an OAuth redirect, a
    careless script) must not have it written down. Paths stay: they carry no secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "httpx" and isinstance(record.args, tuple) and \
                len(record.args) > 1 and "?" in str(record.args[1]):
            url = str(record.args[1])
            record.args = (record.args[0], url[:url.index("?")] + "?[query removed]",
                           *record.args[2:])
        return True


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    owner and job_id when known, the access log's fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "owner", "job_id", *EXTRA_FIELDS):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request job=ID] message`, the bracket only when there is a
    request or a job."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        job_id = getattr(record, "job_id", None)
        tags = [str(request_id)] if request_id else []
        if job_id:
            tags.append(f"job={job_id}")
        record.context = f" [{' '.join(tags)}]" if tags else ""
        return super().format(record)


def check_level(level: str) -> str:
    if level.lower() not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    return level.lower()


def check_format(name: str) -> str:
    if name.lower() not in FORMATS:
        raise ValueError(f"log format {name!r} is not one of {', '.join(FORMATS)}")
    return name.lower()


def make_handler(format_name: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing lines of `format_name` (text or json) with their context."""
    handler = logging.StreamHandler(stream or sys.stderr)
    json_lines = check_format(format_name) == "json"
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(QueryRedactor())
    return handler


def configure_logging(format_name: str = "text", level: str = "info",
                      stream: TextIO | None = None) -> logging.Handler:
    """Log every logger's lines at `level` and above through one handler on the root logger
    (replacing one an earlier call installed); returns that handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    handler = make_handler(format_name, stream)
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(check_level(level).upper())
    return handler
