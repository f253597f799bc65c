"""What every engine shares (engines/base.py): one set of job labels, which the Swarm engine
extends, and an engine failure that carries a reason but no exit code."""

from __future__ import annotations

from pathlib import Path

from innerspace.engines.base import (
    APP_LABEL,
    JOB_LABEL,
    OWNER_LABEL,
    SERVICE_LABEL,
    ContainerSpec,
    ExitStatus,
    job_labels,
)
from innerspace.engines.swarm.engine import SwarmEngine
from innerspace.engines.swarm.objects import ROLE_LABEL


def spec(tmp_path: Path, owner: str | None = "alice") -> ContainerSpec:
    return ContainerSpec(
        job_id="job1", owner=owner, app="probe", app_version="1.0.0", service_id="svc",
        image="sha256:" + "0" * 64, argv=["run"], env={}, params_file=tmp_path / "p.json",
        inputs_dir=tmp_path, results_dir=tmp_path, cores=1, memory=1 << 26, pids=64,
        tmp_size=1 << 20, uid=10001, gid=10001)


def test_both_engines_label_a_job_alike(tmp_path: Path) -> None:
    assert job_labels(spec(tmp_path)) == {JOB_LABEL: "job1", OWNER_LABEL: "alice",
                                          APP_LABEL: "probe:1.0.0", SERVICE_LABEL: "svc"}
    assert job_labels(spec(tmp_path, owner=None))[OWNER_LABEL] == ""
    swarm = SwarmEngine._labels(spec(tmp_path))
    assert swarm == {**job_labels(spec(tmp_path)), ROLE_LABEL: "job"}


def test_an_engine_failure_has_no_exit_code() -> None:
    failed = ExitStatus.engine_failed("the container disappeared")
    assert failed.exit_code is None and failed.failure == "the container disappeared"
