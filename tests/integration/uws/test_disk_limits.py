"""What a job can do to the job file system, tried by a real app in a real container on the
local engine (tests/apps/disk-hog, whose manifest asks for a result quota of 32M): write past
its result quota, write one file past the file-size limit, hold files open without end,
fill the owner's storage quota, fill the disk itself, and leave read-only directories for
the service to delete. Each attack ends harmlessly, and says so."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import TEST_APPS
from tests.support.services import LiveService
from tests.support.uwsutil import UWS, create, results, wait_final

MiB = 1024 * 1024
QUOTA = 32 * MiB  # the disk-hog manifest's max_result_size


@pytest.fixture(scope="module")
def hog_image(build_app: Callable[..., str]) -> str:
    return build_app(TEST_APPS / "disk-hog")


def run_hog(service: LiveService, token: str | None = None, **params: Any) -> tuple[str, Any]:
    with service.client(token) as http:
        job_url = create(http, {"app": "disk-hog", "PHASE": "RUN", **params})
        return job_url, wait_final(http, job_url, timeout=300)


def hog_report(service: LiveService, job_url: str) -> dict[str, Any]:
    with service.client() as http:
        response = http.get(f"{job_url}/results/hog.json")
        assert response.status_code == 200, response.text
        report: dict[str, Any] = json.loads(response.content)
        return report


def phase_and_message(root: Any) -> tuple[str, str]:
    return (root.findtext(f"{UWS}phase"),
            root.findtext(f"{UWS}errorSummary/{UWS}message") or "")


def test_results_past_the_quota_end_the_job_and_are_cut_back(
        hog_image: str, service: LiveService) -> None:
    started = time.monotonic()
    job_url, root = run_hog(service, write_mb=48, sleep=240)  # it would sleep on past it
    elapsed = time.monotonic() - started
    phase, message = phase_and_message(root)
    listed = results(root)
    kept = {name for name in listed if name.startswith("data-")}
    on_disk = sum(p.stat().st_size for p in job_dir(service, job_url).rglob("results/**/*")
                  if p.is_file())
    print(f"\nquota passed, job stopped and cut back {elapsed:.1f} s after submission")
    assert phase == "ERROR"
    assert message.startswith("the results passed the quota of 32M; the job was stopped; ")
    assert " were removed: " in message
    assert "hog.json" in listed, "the files written first are kept"
    assert kept == {f"data-{n:03d}.bin" for n in range(len(kept))}, "in the order written"
    assert sum(int(listed[name]["size"]) for name in kept | {"hog.json"}) <= QUOTA
    assert on_disk <= QUOTA
    assert elapsed < 200, "stopped long before its sleep would have ended"


def test_one_file_past_the_quota_fails_inside_the_container(
        hog_image: str, service: LiveService) -> None:
    job_url, root = run_hog(service, big_file_mb=40)
    report = hog_report(service, job_url)
    assert phase_and_message(root) == ("COMPLETED", "")
    assert report["rlimit_fsize"] == [QUOTA, QUOTA]
    assert report["big_file"] == {"written": QUOTA, "size": QUOTA, "error": "EFBIG"}


def test_open_files_are_limited(hog_image: str,
                                make_service: Callable[..., LiveService]) -> None:
    service = make_service(limits={"max_open_files": 128})
    job_url, root = run_hog(service, open_files=1000)
    report = hog_report(service, job_url)
    assert phase_and_message(root) == ("COMPLETED", "")
    assert report["rlimit_nofile"] == [128, 128]
    assert report["open_files"]["error"] == "EMFILE"
    assert 100 < report["open_files"]["opened"] < 128


def test_an_owner_over_the_storage_quota_gets_no_new_job(
        hog_image: str, make_service: Callable[..., LiveService]) -> None:
    service = make_service(tokens={"token-a": "alice", "token-b": "bob"},
                           limits={"max_storage_per_owner": "4M"})
    job_url, root = run_hog(service, "token-a", write_mb=5)
    assert phase_and_message(root) == ("COMPLETED", "")
    with service.client("token-a") as alice, service.client("token-b") as bob:
        refused = alice.post("/jobs", data={"app": "disk-hog"})
        assert bob.post("/jobs", data={"app": "disk-hog"}).status_code == 303, "bob is not"
        assert alice.delete(job_url).status_code == 303
        assert alice.post("/jobs", data={"app": "disk-hog"}).status_code == 303, "room again"
    assert refused.status_code == 409
    assert "storage quota used up: the jobs of alice hold 5" in refused.text
    assert "of the 4M allowed" in refused.text


def test_read_only_results_are_deleted_with_their_job(hog_image: str,
                                                      service: LiveService) -> None:
    job_url, root = run_hog(service, read_only_tree=True)
    assert phase_and_message(root) == ("COMPLETED", "")
    locked = job_dir(service, job_url) / "results" / "locked" / "a"
    assert locked.is_dir() and locked.stat().st_mode & 0o777 == 0o555
    with service.client() as http:
        assert http.delete(job_url).status_code == 303
        assert http.get(job_url).status_code == 404
    assert not job_dir(service, job_url).exists()


def job_dir(service: LiveService, job_url: str) -> Path:
    return Path(service.settings.jobs_dir) / job_url.rsplit("/", 1)[-1]


# -- a full disk -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs as the job file system (needs root; skipped where mounting fails)."""
    mount_point = tmp_path / "jobs"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs",
                              str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the job files: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def test_a_full_disk_ends_the_job_and_the_service_serves_on(
        hog_image: str, small_disk: Path, make_service: Callable[..., LiveService]) -> None:
    service = make_service(jobs_dir=str(small_disk), limits={"min_free_disk": "4M"})
    filler_url, root = run_hog(service, write_mb=48)  # twice what the disk holds
    phase, message = phase_and_message(root)
    assert phase == "ERROR", "never left EXECUTING"
    assert ("the job file system is full" in message
            or "No space left on device" in message), message
    with service.client() as http:
        assert http.get("/availability").status_code == 200
        assert http.get("/jobs").status_code == 200
        starved_url, starved = run_hog(service)
        starved_phase, starved_message = phase_and_message(starved)
        assert http.delete(filler_url).status_code == 303  # room again
        after_url, after = run_hog(service)
        assert http.delete(starved_url).status_code == 303
        assert http.delete(after_url).status_code == 303
    assert starved_phase == "ERROR"
    assert starved_message.startswith("the job could not start: the job file system has ")
    assert starved_message.endswith(" free, less than the 4M it keeps free for jobs to start")
    assert phase_and_message(after) == ("COMPLETED", "")
    assert list(small_disk.iterdir()) == []
