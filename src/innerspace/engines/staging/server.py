"""The stage server: runs next to the innerspace service's job files (as a cluster service
on the same node, with the jobs directory mounted) and lets each job's container fetch its
inputs and send back its results over the cluster's network.

Stdlib only: it is shipped to the cluster as a config and runs on the base image.
Every request names one job and carries that job's token, an HMAC of the job id under a
secret shared with the service; a token opens its own job's files and nothing else.

    GET  /jobs/ID/files          JSON list of the files the job's container needs
    GET  /jobs/ID/files/PATH     one of them (params.json, services.json, inputs/NAME)
    PUT  /jobs/ID/results/PATH   one result file (Content-Length required)
    GET  /healthz                "ok"
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

JOBS = Path(os.environ.get("INNERSPACE_STAGE_JOBS", "/jobs"))
SECRET = bytes.fromhex(os.environ["INNERSPACE_STAGE_SECRET"])
MAX_BYTES = int(os.environ.get("INNERSPACE_STAGE_MAX_BYTES", str(1 << 30)))
PORT = int(os.environ.get("INNERSPACE_STAGE_PORT", "8470"))
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_DEPTH = 16
CHUNK = 1 << 20


def token(job_id: str) -> str:
    return hmac.new(SECRET, job_id.encode(), hashlib.sha256).hexdigest()


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


class StageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "innerspace-stage"

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("stage: " + (format % args) + "\n")

    def _reply(self, status: int, body: bytes = b"", kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self, status: int, why: str) -> None:
        self._reply(status, (why + "\n").encode())

    def _job(self) -> tuple[Path, list[str]] | None:
        """The job's directory and the rest of the path, once the token checks out."""
        parts = self.path.split("?", 1)[0].split("/", 3)  # '', 'jobs', ID, rest
        if len(parts) < 3 or parts[1] != "jobs" or not JOB_ID.match(parts[2]):
            self._refuse(404, "no such path")
            return None
        job_id = parts[2]
        given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token(job_id).encode()):
            self._refuse(403, "the token does not open this job")
            return None
        root = JOBS / job_id
        if not root.is_dir():
            self._refuse(404, "no such job")
            return None
        return root, (parts[3].split("/", 1) if len(parts) > 3 else [])

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, b"ok\n")
            return
        found = self._job()
        if found is None:
            return
        root, rest = found
        if rest == ["files"]:
            body = json.dumps({"files": job_files(root)}).encode()
            self._reply(200, body, "application/json")
            return
        if len(rest) == 2 and rest[0] == "files":
            wanted = unquote(rest[1])
            if not any(f["path"] == wanted for f in job_files(root)):
                self._refuse(404, "no such file")
                return
            path = root / wanted
            with path.open("rb") as stream:
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
        root, rest = found
        parts = relative_parts(rest[1]) if len(rest) == 2 and rest[0] == "results" else None
        if parts is None:
            self._refuse(400, "not a usable result path")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._refuse(411, "Content-Length is required")
            return
        size = int(length)
        results = root / "results"
        if used_bytes(results) + size > MAX_BYTES:
            self._refuse(413, f"the job's results would exceed {MAX_BYTES} bytes")
            return
        target = results.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{threading.get_ident()}.part")
        remaining = size
        with partial.open("wb") as stream:
            while remaining:
                chunk = self.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    break
                stream.write(chunk)
                remaining -= len(chunk)
        if remaining:
            partial.unlink(missing_ok=True)
            self.close_connection = True
            self._refuse(400, "the upload ended early")
            return
        os.replace(partial, target)
        self._reply(HTTPStatus.CREATED, b"stored\n")


def main() -> None:
    server = ThreadingHTTPServer(("", PORT), StageHandler)
    server.daemon_threads = True
    sys.stderr.write(f"stage: serving {JOBS} on port {PORT}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
