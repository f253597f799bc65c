"""Request heads cannot fill the service's memory: `innerspace serve` answers 431 to a request
line and headers longer than `limits.max_request_head`, however they are sent, and keeps
serving ordinary requests with large but reasonable headers. Before, httptools buffered a
single 50 MB header whole (the service held some 100 MB for it)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.process_memory import PeakMemory
from tests.support.services import ProcessService

MB = 1024 * 1024


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory, docker_client: Any
          ) -> Iterator[ProcessService]:
    """A real `innerspace serve` process (it starts only with an engine to talk to)."""
    service = ProcessService(Path(tmp_path_factory.mktemp("data"))).start()
    yield service
    service.stop()


def send_head(service: ProcessService, header_bytes: int) -> bytes:
    """Send a GET whose one header holds `header_bytes` bytes, in 64 KiB writes; the answer
    (or what came before the service closed the connection)."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=60) as connection:
        connection.sendall(f"GET /availability HTTP/1.1\r\nHost: 127.0.0.1:{service.port}\r\n"
                           "X-Filler: ".encode())
        try:
            sent = 0
            while sent < header_bytes:
                connection.sendall(b"a" * 65536)
                sent += 65536
            connection.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the service refused and closed: what it should do
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def test_a_50_mb_header_is_refused_without_holding_it(serve: ProcessService) -> None:
    memory = PeakMemory(serve.pid)
    memory.reset()
    answer = send_head(serve, 50 * MB)
    growth = memory.growth_mib()
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"longer than the limit of 65536 bytes" in answer
    assert growth < 8, f"the service grew by {growth:.1f} MiB"
    with httpx.Client(base_url=serve.url, timeout=30) as http:
        assert http.get("/availability").status_code == 200


def test_large_reasonable_headers_pass(serve: ProcessService) -> None:
    with httpx.Client(base_url=serve.url, timeout=30) as http:
        answer = http.get("/availability", headers={"X-Filler": "b" * 30_000})
        assert answer.status_code == 200
        # A keep-alive connection serves one request after another with its own head count.
        for _ in range(5):
            assert http.get("/availability", headers={"X-Filler": "c" * 30_000}
                            ).status_code == 200


def test_large_bodies_do_not_count_as_heads(serve: ProcessService) -> None:
    # The read that ends a large body may be long; it is no request head (the bound once
    # refused a FITS upload here with 431).
    with httpx.Client(base_url=serve.url, timeout=60) as http:
        for _ in range(3):
            answer = http.post("/jobs", data={"app": "no-such-app"},
                               files={"image": ("big.fits", b"\0" * (5 * MB))})
            assert answer.status_code == 400, answer.text
            assert "no-such-app" in answer.text
