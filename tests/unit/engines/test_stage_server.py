"""The stage server (engines/staging/server.py) on a real socket, in this process: a job's
token opens its files only while the job's ticket is on disk, concurrent uploads of one job
cannot pass its quota together, and what one client can hold is bounded (workers, connections
per address, time-outs, request line and headers)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from innerspace.engines.staging import server as stage

TOKEN = "a" * 64
LONG = 30.0  # seconds a condition may take on a loaded machine


@pytest.fixture
def jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(stage, "JOBS", tmp_path)
    monkeypatch.setattr(stage, "QUOTAS", stage.Quotas())
    job = tmp_path / "job1"
    (job / "inputs").mkdir(parents=True)
    (job / "results").mkdir()
    (job / "params.json").write_text("{}")
    (job / "inputs" / "a.txt").write_text("input")
    (job / stage.TICKET).write_text(json.dumps({"token": TOKEN, "result_quota": 1000}))
    return tmp_path


def serve(workers: int = 4, per_peer: int = 4) -> Callable[[], Iterator[int]]:
    def running() -> Iterator[int]:
        server = stage.BoundedStageServer(("127.0.0.1", 0), workers=workers, per_peer=per_peer)
        thread = threading.Thread(target=server.serve_forever, daemon=True,
                                  kwargs={"poll_interval": 0.05})  # prompt shutdown()
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()
            server.server_close()

    return running


port = pytest.fixture(serve())
small_port = pytest.fixture(serve(workers=2, per_peer=2))


def ask(port: int, method: str, path: str, token: str = TOKEN,
        body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=LONG)
    try:
        connection.request(method, path, body=body, headers={"Authorization": f"Bearer {token}"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + LONG
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_the_token_opens_its_job_only_while_the_ticket_exists(jobs: Path, port: int) -> None:
    status, body = ask(port, "GET", "/jobs/job1/files")
    assert status == 200
    assert [f["path"] for f in json.loads(body)["files"]] == ["params.json", "inputs/a.txt"]
    assert ask(port, "GET", "/jobs/job1/files/inputs/a.txt") == (200, b"input")
    assert ask(port, "GET", "/jobs/job1/files", token="b" * 64)[0] == 403
    assert ask(port, "GET", "/jobs/job1/files/stage-ticket.json")[0] == 404
    assert ask(port, "GET", "/jobs/nojob/files")[0] == 403, "same answer as a wrong token"
    (jobs / "job1" / stage.TICKET).unlink()  # the job has ended
    assert ask(port, "GET", "/jobs/job1/files")[0] == 403
    assert ask(port, "PUT", "/jobs/job1/results/late.txt", body=b"x")[0] == 403
    assert not (jobs / "job1" / "results" / "late.txt").exists()


def test_uploads_within_the_quota_are_stored(jobs: Path, port: int) -> None:
    assert ask(port, "PUT", "/jobs/job1/results/sub/r.txt", body=b"r" * 600)[0] == 201
    assert (jobs / "job1" / "results" / "sub" / "r.txt").read_bytes() == b"r" * 600
    status, body = ask(port, "PUT", "/jobs/job1/results/s.txt", body=b"s" * 401)
    assert status == 413 and b"quota of 1000 bytes" in body
    assert ask(port, "PUT", "/jobs/job1/results/..%2f..%2fx", body=b"x")[0] == 400


def test_concurrent_uploads_cannot_pass_the_quota_together(jobs: Path, port: int) -> None:
    """The first upload reserves its size before its body arrives: a second one that
    would fit on its own, but not beside it, is refused while the first is on its way."""
    first = socket.create_connection(("127.0.0.1", port), timeout=LONG)
    first.sendall(b"PUT /jobs/job1/results/one.bin HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                  b"Content-Length: 600\r\n\r\n" + b"1" * 100)
    wait_until(lambda: stage.QUOTAS._jobs.get("job1", [0])[0] == 600, "the reservation")
    assert ask(port, "PUT", "/jobs/job1/results/two.bin", body=b"2" * 600)[0] == 413
    first.sendall(b"1" * 500)
    assert first.recv(4096).startswith(b"HTTP/1.1 201")
    first.close()
    assert (jobs / "job1" / "results" / "one.bin").stat().st_size == 600
    assert not (jobs / "job1" / "results" / "two.bin").exists()


def test_an_upload_that_ends_early_gives_its_reservation_back(jobs: Path, port: int) -> None:
    broken = socket.create_connection(("127.0.0.1", port), timeout=LONG)
    broken.sendall(b"PUT /jobs/job1/results/cut.bin HTTP/1.1\r\nHost: x\r\n"
                   b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                   b"Content-Length: 900\r\n\r\n" + b"c" * 10)
    wait_until(lambda: stage.QUOTAS._jobs.get("job1", [0])[0] == 900, "the reservation")
    broken.shutdown(socket.SHUT_WR)
    assert broken.recv(4096).startswith(b"HTTP/1.1 400")
    broken.close()
    assert ask(port, "PUT", "/jobs/job1/results/whole.bin", body=b"w" * 900)[0] == 201
    assert sorted(p.name for p in (jobs / "job1" / "results").iterdir()) == ["whole.bin"]


def test_an_idle_connection_is_dropped_after_the_timeout(
        jobs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage.StageHandler, "timeout", 0.5)
    for bound in serve()():
        idle = socket.create_connection(("127.0.0.1", bound), timeout=LONG)
        idle.sendall(b"GET /jobs/job1/files HTTP/1.1\r\n")  # and never the rest
        assert idle.recv(4096) == b"", "the server closed the connection"
        idle.close()


def test_connections_beyond_the_bounds_are_turned_away(jobs: Path, small_port: int) -> None:
    """Two connections per address at most: a third from the same address gets a 503 at
    once, and is served again when one of the first two ends."""
    held = [socket.create_connection(("127.0.0.1", small_port), timeout=LONG)
            for _ in range(2)]
    for connection in held:  # both admitted: a request on each would be served
        connection.sendall(b"GET /healthz")
    status, body = ask(small_port, "GET", "/healthz")
    assert status == 503 and b"busy" in body
    held[0].sendall(b" HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert held[0].recv(4096).startswith(b"HTTP/1.1 200")
    held[0].close()
    wait_until(lambda: ask(small_port, "GET", "/healthz")[0] == 200, "a free connection")
    held[1].close()


def test_the_request_line_and_headers_are_bounded(
        jobs: Path, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http.client, "_MAXLINE", http.client._MAXLINE)  # type: ignore[attr-defined]
    monkeypatch.setattr(http.client, "_MAXHEADERS", http.client._MAXHEADERS)  # type: ignore[attr-defined]
    stage.bound_header_parsing()

    def raw(request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=LONG) as connection:
            connection.sendall(request)
            return connection.recv(4096)

    assert raw(b"GET /" + b"x" * stage.MAX_LINE + b" HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 414")
    assert raw(b"GET /healthz HTTP/1.1\r\nX: " + b"y" * stage.MAX_LINE + b"\r\n\r\n"
               ).startswith(b"HTTP/1.1 431")
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(stage.MAX_HEADERS + 1))
    assert raw(b"GET /healthz HTTP/1.1\r\n" + many + b"\r\n").startswith(b"HTTP/1.1 431")
    assert raw(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 200")
