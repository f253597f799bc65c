"""The stage server: runs next to the innerspace service's job files (a container on the
Swarm manager, with the jobs directory mounted) and lets each job's container fetch its
inputs and send back its results over the job's own network.

Stdlib only: it is shipped to the cluster as a config and runs on the base image.
Every request names one job and carries that job's token. The service writes a random
token into the job's directory when the job starts (TICKET, with the job's result quota) and
deletes it when the job ends: a token opens its own job's files while the job runs, and
nothing else, ever.

    GET  /jobs/ID/files          JSON list of the files the job's container needs
    GET  /jobs/ID/files/PATH     one of them (params.json, services.json, inputs/NAME)
    PUT  /jobs/ID/results/PATH   one result file (Content-Length required)
    GET  /healthz                "ok"

What one client can take is bounded: a fixed pool of worker threads, at most PER_PEER
connections at once from one address (one job's container), a time-out on every read and
write, a request line and headers of bounded size, and each job's results within its quota
(reserved before an upload is read, so that concurrent uploads cannot pass it together).
"""

from __future__ import annotations

import contextlib
import hmac
import http.client
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

JOBS = Path(os.environ.get("INNERSPACE_STAGE_JOBS", "/jobs"))
MAX_BYTES = int(os.environ.get("INNERSPACE_STAGE_MAX_BYTES", str(1 << 30)))
PORT = int(os.environ.get("INNERSPACE_STAGE_PORT", "8470"))
WORKERS = int(os.environ.get("INNERSPACE_STAGE_WORKERS", "32"))
TIMEOUT = float(os.environ.get("INNERSPACE_STAGE_TIMEOUT", "30"))
PER_PEER = int(os.environ.get("INNERSPACE_STAGE_PER_PEER", "4"))
BACKLOG = 4  # connections waiting for a worker, per worker, before new ones are turned away
TICKET = "stage-ticket.json"  # in each job's directory: {"token": ..., "result_quota": ...}
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_DEPTH = 16
MAX_LINE = 8192  # bytes of the request line and of each header line
MAX_HEADERS = 32
CHUNK = 1 << 20
IDLE_JOB = 3600.0  # seconds after which a job's usage is forgotten (re-read from disk)
NO_TICKET = os.urandom(32).hex()  # what a token is compared with when the job has no ticket



def bound_header_parsing() -> None:
    """Headers of at most MAX_HEADERS lines of MAX_LINE bytes. The stdlib's header parser
    reads these module globals at each call (64 KiB and 100 by default); the stage server
    parses nothing else, so they are lowered for its whole process."""
    http.client._MAXLINE = MAX_LINE  # type: ignore[attr-defined]
    http.client._MAXHEADERS = MAX_HEADERS  # type: ignore[attr-defined]


def job_files(root: Path) -> list[dict[str, object]]:
    """What the container needs, as paths relative to the job's directory."""
    found: list[dict[str, object]] = []
    for name in ("params.json", "services.json"):
        path = root / name
        if path.is_file() and not path.is_symlink():
            found.append({"path": name, "size": path.stat().st_size})
    inputs = root / "inputs"
    if inputs.is_dir():
        for entry in sorted(os.scandir(inputs), key=lambda e: e.name):
            if entry.is_file(follow_symlinks=False):
                found.append({"path": f"inputs/{entry.name}",
                              "size": entry.stat(follow_symlinks=False).st_size})
    return found


def relative_parts(text: str) -> list[str] | None:
    """A safe relative path: no empty, '.' or '..' parts, no NUL, not too deep."""
    parts = unquote(text).split("/")
    if not parts or len(parts) > MAX_DEPTH or any(
            p in ("", ".", "..") or "\0" in p for p in parts):
        return None
    return parts


def used_bytes(results: Path) -> int:
    total = 0
    for directory, _, names in os.walk(results):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


def read_ticket(root: Path) -> dict[str, Any] | None:
    """The running job's ticket (token and quota); None once the job has ended."""
    try:
        ticket = json.loads((root / TICKET).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(ticket, dict) or not isinstance(ticket.get("token"), str):
        return None
    return ticket


class Quotas:
    """Bytes each job's results take, counted in memory from the first upload on (read
    from disk once) and reserved before an upload is read: two uploads of one job at once
    cannot pass its quota together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, list[float]] = {}  # job id -> [bytes used, last use]

    def reserve(self, job_id: str, results: Path, size: int, quota: int) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None:
                self._forget_idle()
                entry = self._jobs[job_id] = [used_bytes(results), 0.0]
            entry[1] = time.monotonic()
            if entry[0] + size > quota:
                return False
            entry[0] += size
            return True

    def give_back(self, job_id: str, size: int) -> None:
        """An upload that did not complete frees what it reserved."""
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is not None:
                entry[0] = max(0.0, entry[0] - size)

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for job_id in [j for j, (_, last) in self._jobs.items() if now - last > IDLE_JOB]:
            del self._jobs[job_id]


QUOTAS = Quotas()


class StageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "innerspace-stage"
    timeout = TIMEOUT  # on every read and write of the connection

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("stage: " + (format % args) + "\n")

    def handle_one_request(self) -> None:
        """The stdlib's, with a request line of at most MAX_LINE bytes."""
        try:
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
            if len(self.raw_requestline) > MAX_LINE:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, "request line too long")
                self.close_connection = True
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"no method {self.command!r}")
                return
            method()
            self.wfile.flush()
        except TimeoutError:
            self.log_error("a request timed out after %s s", self.timeout)
            self.close_connection = True

    def _reply(self, status: int, body: bytes = b"", kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self, status: int, why: str) -> None:
        self._reply(status, (why + "\n").encode())

    def _job(self) -> tuple[str, Path, dict[str, Any], list[str]] | None:
        """The job's id, directory, ticket and the rest of the path, once the token
        matches the running job's ticket."""
        parts = self.path.split("?", 1)[0].split("/", 3)  # '', 'jobs', ID, rest
        if len(parts) < 3 or parts[1] != "jobs" or not JOB_ID.match(parts[2]):
            self._refuse(404, "no such path")
            return None
        job_id = parts[2]
        root = JOBS / job_id
        ticket = read_ticket(root)
        given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        expected = ticket["token"] if ticket else NO_TICKET
        # Compared in constant time, and compared even without a ticket, so that neither the
        # answer nor its timing tells a running job from an ended or unknown one.
        if not hmac.compare_digest(given.encode(), expected.encode()) or ticket is None:
            self._refuse(403, "the token does not open this job (or the job has ended)")
            return None
        return job_id, root, ticket, (parts[3].split("/", 1) if len(parts) > 3 else [])

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, b"ok\n")
            return
        found = self._job()
        if found is None:
            return
        _, root, _, rest = found
        if rest == ["files"]:
            body = json.dumps({"files": job_files(root)}).encode()
            self._reply(200, body, "application/json")
            return
        if len(rest) == 2 and rest[0] == "files":
            wanted = unquote(rest[1])
            if not any(f["path"] == wanted for f in job_files(root)):
                self._refuse(404, "no such file")
                return
            with (root / wanted).open("rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                while chunk := stream.read(CHUNK):
                    self.wfile.write(chunk)
            return
        self._refuse(404, "no such path")

    def do_PUT(self) -> None:
        found = self._job()
        if found is None:
            return
        job_id, root, ticket, rest = found
        parts = relative_parts(rest[1]) if len(rest) == 2 and rest[0] == "results" else None
        if parts is None:
            self._refuse(400, "not a usable result path")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or len(length) > 18:
            self._refuse(411, "Content-Length is required")
            return
        size = int(length)
        quota = min(int(ticket.get("result_quota", MAX_BYTES)), MAX_BYTES)
        results = root / "results"
        if not QUOTAS.reserve(job_id, results, size, quota):
            self.close_connection = True  # the body is not read
            self._refuse(413, f"the job's results would exceed its quota of {quota} bytes")
            return
        try:
            stored = self._receive(results.joinpath(*parts), size)
        except BaseException:
            QUOTAS.give_back(job_id, size)
            raise
        if not stored:
            QUOTAS.give_back(job_id, size)
            self.close_connection = True
            self._refuse(400, "the upload ended early")
            return
        self._reply(HTTPStatus.CREATED, b"stored\n")

    def _receive(self, target: Path, size: int) -> bool:
        """Read `size` bytes of body into `target` (through a partial file)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{threading.get_ident()}.part")
        remaining = size
        try:
            with partial.open("wb") as stream:
                while remaining:
                    chunk = self.rfile.read(min(CHUNK, remaining))
                    if not chunk:
                        break
                    stream.write(chunk)
                    remaining -= len(chunk)
            if remaining:
                return False
            os.replace(partial, target)
            return True
        finally:
            partial.unlink(missing_ok=True)


_BUSY_TEXT = b"the stage server is busy, try again\n"
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
        b"Retry-After: 1\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT))


class BoundedStageServer(HTTPServer):
    """An HTTP server with a fixed pool of workers: a connection waits for a free worker
    (at most BACKLOG per worker wait), and one beyond that, or beyond PER_PEER from the same
    address, is answered 503 at once."""

    def __init__(self, address: tuple[str, int], workers: int = WORKERS,
                 per_peer: int = PER_PEER) -> None:
        super().__init__(address, StageHandler)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stage")
        self._slots = threading.BoundedSemaphore(workers * (1 + BACKLOG))
        self._per_peer = per_peer
        self._peers: Counter[str] = Counter()
        self._lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        peer = str(client_address[0])
        with self._lock:
            admitted = self._peers[peer] < self._per_peer and self._slots.acquire(False)
            if admitted:
                self._peers[peer] += 1
        if not admitted:
            with contextlib.suppress(OSError):
                request.settimeout(1)
                request.sendall(BUSY)
            self.shutdown_request(request)
            return
        self._pool.submit(self._serve, request, client_address, peer)

    def _serve(self, request: Any, client_address: Any, peer: str) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._peers[peer] -= 1
                if not self._peers[peer]:
                    del self._peers[peer]
                self._slots.release()

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def main() -> None:
    bound_header_parsing()
    server = BoundedStageServer(("", PORT))
    sys.stderr.write(f"stage: serving {JOBS} on port {PORT} with {WORKERS} workers\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
