"""The local engine's sandbox, driven directly (no service in front, so that an image the
app repository would refuse still reaches the engine): an image that declares VOLUMEs gets a
size-limited tmpfs on each of them and never an anonymous volume, and the job's rlimits hold
inside the container."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from innerspace.engines.base import ContainerSpec
from innerspace.engines.docker import DockerEngine

SCRATCH = 4 * 1024 * 1024  # the tmpfs size the job gets
WRITER = """
import json, os, resource
def fill(path, file_size):
    written = 0
    try:
        while written < 64 * 1024 * 1024:
            with open(f"{path}.{written}", "wb") as stream:
                for _ in range(file_size // 65536):
                    stream.write(b"v" * 65536)
                    stream.flush()
                    written += 65536
    except OSError as exc:
        return written, exc.strerror
    return written, None
report = {"data": fill("/data/fill", 256 * 1024),
          "cache": fill("/var/cache/app/fill", 256 * 1024),
          "big_file": fill("/tmp/big", 64 * 1024 * 1024),
          "fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
          "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)}
with open("/innerspace/results/report.json", "w") as out:
    json.dump(report, out)
"""


@pytest.fixture(scope="module")
def volume_image(docker_client: Any, base_image: str) -> Iterator[str]:
    """An image that declares two VOLUMEs, built with the docker SDK (not innerspace's
    builder, which refuses it)."""
    tag = f"innerspace-test/volumes:{secrets.token_hex(4)}"
    dockerfile = f"FROM {base_image}\nVOLUME /data /var/cache/app\n".encode()
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True)
    yield str(image.id)
    docker_client.images.remove(tag, force=True)


def job_spec(tmp_path: Path, image: str, max_file_size: int, max_open_files: int
             ) -> ContainerSpec:
    job = tmp_path / "job"
    (job / "inputs").mkdir(parents=True)
    (job / "results").mkdir()
    (job / "results").chmod(0o777)
    (job / "params.json").write_text("{}")
    return ContainerSpec(
        job_id=f"vol{secrets.token_hex(6)}", owner="mallory", app="volumes", app_version="1",
        service_id="engine-test", image=image, argv=["python3", "-c", WRITER], env={},
        params_file=job / "params.json", inputs_dir=job / "inputs",
        results_dir=job / "results", cores=0.5, memory=256 * 1024 * 1024, pids=64,
        tmp_size=SCRATCH, uid=10001, gid=10001, max_file_size=max_file_size,
        max_open_files=max_open_files)


def volume_names(client: Any) -> set[str]:
    return {v["Name"] for v in client.api.volumes().get("Volumes") or []}


def test_declared_volumes_are_bounded_tmpfs_and_leave_nothing(
        docker_client: Any, volume_image: str, tmp_path: Path) -> None:
    spec = job_spec(tmp_path, volume_image, max_file_size=1024 * 1024, max_open_files=77)
    engine = DockerEngine(docker.from_env(timeout=120))
    before = volume_names(docker_client)

    async def run() -> tuple[int | None, list[dict[str, Any]]]:
        handle = await engine.start(spec)
        try:
            status = await engine.wait(handle)
            mounts = docker_client.api.inspect_container(handle)["Mounts"]
        finally:
            await engine.remove(handle)
            await engine.close()
        return status.exit_code, mounts

    exit_code, mounts = asyncio.run(run())
    assert exit_code == 0
    assert [m for m in mounts if m["Type"] == "volume"] == [], "no anonymous volume"
    report = json.loads((spec.results_dir / "report.json").read_text())
    for name in ("data", "cache"):
        written, error = report[name]
        assert written <= SCRATCH and error == "No space left on device", (name, written)
    written, error = report["big_file"]  # /tmp has room; the file size limit stops it
    assert written == 1024 * 1024 and error == "File too large"
    assert report["fsize"] == [1024 * 1024, 1024 * 1024]
    assert report["nofile"] == [77, 77]
    assert volume_names(docker_client) <= before, "no volume is left behind"
