"""What every request leaves behind (observability/requests.py): its id, echoed; one access
log line with the route template, status, duration and owner and nothing secret; its count
and duration by route template; and the request id on the lines of a request that fails."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from innerspace.config import Settings
from innerspace.observability import RequestObserver, ServiceMetrics, configure_logging
from innerspace.observability.requests import RouteTable, template_pattern
from innerspace.server import create_app
from innerspace.web import errors
from innerspace.web.caller import CallerDep

TOKEN = "dev-token-Zq8xv1"  # a development token: it must never reach a log line


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("json", "debug", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, stream.getvalue().splitlines())
            if line["logger"] == "innerspace.access"]


def send(app: Any, *requests: tuple[str, str, dict[str, str]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return [await c.request(method, path, headers=headers)
                    for method, path, headers in requests]

    return asyncio.run(run())


def service(tmp_path: Path) -> FastAPI:
    """The real app (without its lifespan: routes that need the job service answer 500)."""
    return create_app(Settings(data_dir=tmp_path))


def small_app(tmp_path: Path) -> FastAPI:
    """A route that learns its caller as every router does (web/caller.py), behind the
    middleware, with the service's error renderers."""
    app = FastAPI()
    app.state.settings = Settings(data_dir=tmp_path, auth={"tokens": {TOKEN: "alice"}})

    @app.get("/jobs/{job_id}")
    async def job(job_id: str, caller: CallerDep) -> dict[str, str | None]:
        logging.getLogger("innerspace.test").info("looking at it")
        return {"job": job_id, "owner": caller.owner}

    errors.install(app, errors.ErrorRenderers())
    app.add_middleware(RequestObserver, metrics=ServiceMetrics())
    return app


def test_the_request_id_is_echoed_or_made(tmp_path: Path) -> None:
    path = "/schemas/app-manifest.json"
    kept, replaced, made = send(
        service(tmp_path), ("GET", path, {"X-Request-ID": "trace-42"}),
        ("GET", path, {"X-Request-ID": "bad id with spaces"}), ("GET", path, {}))
    assert kept.status_code == 200
    assert kept.headers["x-request-id"] == "trace-42"
    assert replaced.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32
    assert replaced.headers["x-request-id"] != made.headers["x-request-id"]


def test_one_access_line_per_request_with_nothing_secret(tmp_path: Path,
                                                        captured: io.StringIO) -> None:
    answers = send(
        small_app(tmp_path),
        ("GET", f"/jobs/abcdefabcdefabcd?access_token={TOKEN}",
         {"Authorization": f"Bearer {TOKEN}", "Cookie": f"session={TOKEN}"}),
        ("GET", "/jobs/abcdefabcdefabcd", {"Authorization": "Bearer not-a-known-token"}),
        ("HEAD", "/jobs/abcdefabcdefabcd", {"X-Request-ID": "head-1"}),
        ("GET", "/no/such/route", {}))
    assert [a.status_code for a in answers] == [200, 401, 405, 404]
    lines = access_lines(captured)
    assert len(lines) == 4
    good, refused, head, unknown = lines
    assert good["method"] == "GET" and good["route"] == "/jobs/{job_id}"
    assert good["path"] == "/jobs/abcdefabcdefabcd" and good["status"] == 200
    assert good["owner"] == "alice" and good["job_id"] == "abcdefabcdefabcd"
    assert good["client"] == "127.0.0.1" and isinstance(good["duration_ms"], float)
    assert good["request_id"] == answers[0].headers["x-request-id"]
    assert refused["status"] == 401 and "owner" not in refused
    assert head["route"] == "/jobs/{job_id}" and head["request_id"] == "head-1"
    assert unknown["route"] == "unmatched" and unknown["status"] == 404
    inside = [line for line in map(json.loads, captured.getvalue().splitlines())
              if line["logger"] == "innerspace.test"]
    assert inside[0]["request_id"] == good["request_id"] and inside[0]["owner"] == "alice"
    output = captured.getvalue()
    assert TOKEN not in output and "not-a-known-token" not in output
    assert "access_token" not in output and "session=" not in output
    assert "/jobs/abcdefabcdefabcd?[query removed]" in output, "httpx's own line, cut"


def test_requests_are_counted_by_route_template(tmp_path: Path) -> None:
    app = service(tmp_path)
    answers = send(app, ("GET", "/jobs/aaaaaaaaaaaaaaaa/results/a/b.txt", {}),
                   ("GET", "/jobs/bbbbbbbbbbbbbbbb/results/c.txt", {}),
                   ("GET", "/registry/tap/capabilities", {}), ("GET", "/random/1", {}),
                   ("GET", "/random/2", {}))
    metrics: ServiceMetrics = app.state.metrics

    def count(route: str, answer: httpx.Response) -> float | None:
        return metrics.registry.get_sample_value(
            "innerspace_http_requests_total",
            {"method": "GET", "route": route, "status": str(answer.status_code)})

    assert answers[0].status_code == answers[1].status_code
    assert count("/jobs/{job_id}/results/{result_id:path}", answers[0]) == 2
    assert count("/registry/tap/capabilities", answers[2]) == 1
    assert answers[3].status_code == 404
    assert count("unmatched", answers[3]) == 2, "raw paths never become labels"


def test_a_failing_request_is_logged_with_its_id(captured: io.StringIO) -> None:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        logging.getLogger("innerspace.test").info("about to fail")
        raise RuntimeError("kaboom")

    errors.install(app, errors.ErrorRenderers())
    app.add_middleware(RequestObserver, metrics=ServiceMetrics())
    (answer,) = send(app, ("GET", "/boom", {"X-Request-ID": "fail-1"}))
    assert answer.status_code == 500
    by_logger = {line["logger"]: line for line in map(json.loads,
                                                      captured.getvalue().splitlines())}
    assert by_logger["innerspace.test"]["request_id"] == "fail-1"
    assert by_logger["innerspace.access"]["status"] == 500
    assert by_logger["innerspace.web"]["request_id"] == "fail-1", "the error line too"
    assert "kaboom" in by_logger["innerspace.web"]["exception"]


def test_route_templates_match_as_the_router_does() -> None:
    assert template_pattern("/jobs/{job_id}").fullmatch("/jobs/abc")
    assert not template_pattern("/jobs/{job_id}").fullmatch("/jobs/abc/phase")
    assert template_pattern("/r/{p:path}").fullmatch("/r/a/b/c")
    assert not template_pattern("/a.b").fullmatch("/aXb"), "literal parts are literal"
    table = RouteTable()
    assert table.template({"app": object(), "path": "/x"}) == "unmatched"
