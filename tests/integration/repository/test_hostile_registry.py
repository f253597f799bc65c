"""A hostile OCI registry against a real `innerspace serve` process configured to use it:
an endless catalog body is cut at the page cap (and the service's memory stays bounded), a
next-page link to another origin is not followed, and a Bearer challenge naming a plain-http
realm elsewhere gets no credentials. The "other origin" is a second server on loopback that
records whatever reaches it; the registries are stdlib HTTP servers in threads of the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import ProcessService

ENDLESS_LIMIT = 512 * 1024**2  # the hostile registry gives up after this much
PAGE_CAP = 1024**2  # repository.max_page_size's default


class Recorder(ThreadingHTTPServer):
    """An HTTP server on a free loopback port that records its requests."""

    daemon_threads = True

    def __init__(self, mode: str = "record", other: str = "") -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.mode = mode
        self.other = other  # the URL of the other origin, for links and realms
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization)
        self.sent = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})  # prompt shutdown()
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def catalog_requests(self) -> int:
        return sum(1 for path, _ in self.requests if path.startswith("/v2/_catalog"))

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Authorization")))
        mode = self.server.mode
        if mode == "record":
            self.answer(404, b"{}")
        elif mode == "realm":
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="{self.server.other}/token",'
                                                 'service="reg",scope="registry:catalog:*"')
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "link":
            self.answer(200, b'{"repositories": ["ns/a"]}', {
                "Link": f'<{self.server.other}/v2/_catalog?last=ns/a>; rel="next"'})
        else:  # endless: a catalog page that never ends, close-delimited
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b'{"repositories": ["' + b"a" * (64 * 1024 - 19)
            try:
                while self.server.sent < ENDLESS_LIMIT:
                    self.wfile.write(chunk)
                    self.server.sent += len(chunk)
                    chunk = b"a" * (64 * 1024)
            except OSError:
                pass  # the client hung up: what we want

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    """Another origin, recording whatever the service sends it."""
    server = Recorder()
    yield server
    server.stop()


def serve_against(mode: str, elsewhere: Recorder, data_dir: Path
                  ) -> tuple[Recorder, ProcessService]:
    registry = Recorder(mode, other=elsewhere.url)
    service = ProcessService(data_dir, repository={
        "url": registry.url, "namespace": "ns", "username": "robot", "password": "s3cret"})
    return registry, service.start()


def apps_error(service: ProcessService) -> str:
    with service.client() as http:
        response = http.get("/apps")
    assert response.status_code == 503, response.text
    return response.text


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_an_endless_catalog_is_cut_at_the_cap(docker_client: Any, elsewhere: Recorder,
                                              tmp_path: Path) -> None:
    registry, service = serve_against("endless", elsewhere, tmp_path)
    try:
        # The start-up read met the endless page already; measure a second read alone.
        Path(f"/proc/{service.pid}/clear_refs").write_text("5")  # peak RSS := current RSS
        before = memory_kib(service.pid, "VmRSS")
        read_before = registry.catalog_requests()
        deadline = time.monotonic() + 120
        while registry.catalog_requests() == read_before:  # /apps re-reads at most once a s
            assert time.monotonic() < deadline, "the service never read the catalog again"
            apps_error(service)
            time.sleep(0.2)
        message = apps_error(service)
        assert f"more than the {PAGE_CAP} bytes allowed" in message, message
        growth = memory_kib(service.pid, "VmHWM") - before
        print(f"peak RSS growth while refusing the endless page: {growth} KiB; "
              f"the registry sent {registry.sent} bytes in all")
        assert growth < 64 * 1024, f"the service grew by {growth} KiB"
        assert registry.sent < ENDLESS_LIMIT / 2, "the service hung up early"
    finally:
        service.stop()
        registry.stop()


def test_a_next_page_elsewhere_is_not_followed(docker_client: Any, elsewhere: Recorder,
                                               tmp_path: Path) -> None:
    registry, service = serve_against("link", elsewhere, tmp_path)
    try:
        message = apps_error(service)
        assert "the registry's next page is on another origin" in message, message
        assert elsewhere.url in message
        assert elsewhere.requests == []
        assert registry.catalog_requests() >= 1
    finally:
        service.stop()
        registry.stop()


def test_credentials_never_reach_a_plain_http_realm(docker_client: Any, elsewhere: Recorder,
                                                    tmp_path: Path) -> None:
    registry, service = serve_against("realm", elsewhere, tmp_path)
    try:
        message = apps_error(service)
        assert "which is neither https nor the registry itself: refused" in message, message
        assert elsewhere.requests == [], "the realm was never asked"
        # The registry itself had the Basic credentials: they are its own.
        assert {auth for _, auth in registry.requests} == {"Basic cm9ib3Q6czNjcmV0"}
    finally:
        service.stop()
        registry.stop()
