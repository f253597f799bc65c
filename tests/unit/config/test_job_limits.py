"""The settings that bound what jobs may keep on disk: the result quota, the file limits,
the per-owner storage quota, the free space a job needs to start, and the jobs directory
(apart from the data directory, so that job files and the database can live apart); and the
manifest's own, lower, result quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from innerspace.apps.manifest import ManifestError, validate_manifest
from innerspace.config import ConfigError, Limits, Settings, load_settings

GiB = 1024**3
MiB = 1024**2


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("INNERSPACE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_defaults() -> None:
    limits = Limits()
    assert (limits.max_result_size, limits.max_result_entries, limits.max_open_files) == (
        GiB, 100_000, 1024)
    assert (limits.max_storage_per_owner, limits.storage_quota) == (10 * GiB, 10 * GiB)
    assert limits.min_free_disk == GiB


@pytest.mark.parametrize("off", [0, "0", None])
def test_the_storage_quota_can_be_turned_off(off: int | str | None) -> None:
    assert Limits(max_storage_per_owner=off).storage_quota is None
    assert Limits(min_free_disk=0).min_free_disk == 0


def test_sizes_are_read_like_memory() -> None:
    limits = Limits(max_result_size="256M", max_storage_per_owner="2T", min_free_disk="512M")
    assert (limits.max_result_size, limits.storage_quota, limits.min_free_disk) == (
        256 * MiB, 2 * 1024 * GiB, 512 * MiB)


@pytest.mark.parametrize("field", ["max_result_size", "max_storage_per_owner",
                                   "min_free_disk"])
def test_bad_sizes_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match="not a memory size"):
        Limits(**{field: "plenty"})


def test_the_jobs_directory_follows_the_data_directory_unless_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(data_dir=tmp_path / "d").jobs_dir == tmp_path / "d" / "jobs"
    config = tmp_path / "innerspace.toml"
    config.write_text(f'data_dir = "{tmp_path / "d"}"\njobs_dir = "{tmp_path / "jobs"}"\n')
    assert load_settings(config).jobs_dir == tmp_path / "jobs"
    monkeypatch.setenv("INNERSPACE_JOBS_DIR", str(tmp_path / "elsewhere"))
    assert load_settings(config).jobs_dir == tmp_path / "elsewhere"
    assert load_settings(config).data_dir == tmp_path / "d"


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNERSPACE_LIMITS__MAX_STORAGE_PER_OWNER", "0")
    monkeypatch.setenv("INNERSPACE_LIMITS__MAX_RESULT_SIZE", "64M")
    settings = load_settings()
    assert settings.limits.storage_quota is None
    assert settings.limits.max_result_size == 64 * MiB


def test_too_few_open_files_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "innerspace.toml"
    config.write_text("[limits]\nmax_open_files = 3\n")
    with pytest.raises(ConfigError, match="max_open_files"):
        load_settings(config)


def manifest(**resources: object) -> dict[str, object]:
    return {"name": "a", "version": "1", "title": "A", "run": {"module": "a"},
            "resources": resources}


def test_a_manifest_may_ask_for_a_result_quota() -> None:
    assert validate_manifest(manifest()).resources.max_result_bytes is None
    asked = validate_manifest(manifest(max_result_size="100M")).resources
    assert asked.max_result_bytes == 100 * MiB
    with pytest.raises(ManifestError, match=r"resources\.max_result_size: not a memory size"):
        validate_manifest(manifest(max_result_size="lots"))
