"""Shared parts of the benchmarks: a real `innerspace serve` process on a free port with its
own data directory, the example images, and timing helpers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes] | None = None,
                  timeout: float = 60.0, log: Path | None = None) -> None:
    """Poll `url` until it answers 200; fail if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            detail = log.read_text()[-2000:] if log and log.is_file() else ""
            raise RuntimeError(f"{url} did not come up {detail}")
        time.sleep(0.1)


@contextmanager
def running_service(**env: str) -> Iterator[tuple[str, Path]]:
    """Start `innerspace serve` (uvicorn, one process) and yield (url, data_dir)."""
    data_dir = Path(tempfile.mkdtemp(prefix="innerspace-bench-"))
    port = free_port()
    environment = {**os.environ, **{f"INNERSPACE_{k.upper()}": v for k, v in env.items()}}
    log = (data_dir / "service.log").open("w")
    process = subprocess.Popen(
        [str(VENV_BIN / "innerspace"), "serve", "--data-dir", str(data_dir),
         "--port", str(port), "--log-level", "warning"],
        env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/availability", process, log=data_dir / "service.log")
        yield url, data_dir
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def build_examples() -> dict[str, str]:
    """Build the example app images (cached layers make this quick); name -> image id."""
    import docker

    from innerspace.apps.builder import build_app_image, image_tag
    from innerspace.apps.project import load_project
    from innerspace.config import DEFAULT_BASE_IMAGE

    client = docker.from_env()
    images = {}
    for name in ("hello",):
        project = load_project(ROOT / "examples" / "apps" / name)
        images[name] = build_app_image(client, project, base_image=DEFAULT_BASE_IMAGE,
                                       tag=image_tag(project.manifest, "innerspace-app/"),
                                       say=lambda _: None)
    return images


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1],
            "p90": ordered[int(0.9 * (len(ordered) - 1))], "n": len(ordered)}
