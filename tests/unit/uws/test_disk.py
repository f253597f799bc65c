"""A job's share of the job file system: trees measured by a bounded walk (sparse files and
preallocated space seen, symlinks not followed, too many or too deep entries named), results
cut back under a quota keeping the files written first, the room left, messages for a full
file system, and removal of read-only trees, also by a service that is not root."""

from __future__ import annotations

import errno
import multiprocessing
import os
from pathlib import Path

import pytest

from innerspace.config import Limits, Settings
from innerspace.uws.disk import (
    CutBack,
    cut_back,
    disk_problem,
    free_bytes,
    human_size,
    tree_size,
)
from innerspace.uws.launch import check_room
from innerspace.uws.removal import remove_tree

MiB = 1024 * 1024


def write(path: Path, size: int, mtime: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_tree_size_counts_files_below_and_names_them(tmp_path: Path) -> None:
    write(tmp_path / "a.bin", 3 * MiB)
    write(tmp_path / "sub" / "deeper" / "b.bin", MiB)
    (tmp_path / "link").symlink_to("/", target_is_directory=True)  # never followed
    size = tree_size(tmp_path, 100, 8, list_files=True)
    assert size.overflow is None
    assert size.entries == 5
    assert 4 * MiB <= size.bytes < 4 * MiB + 64 * 1024
    assert sorted(f.path for f in size.files) == ["a.bin", "sub/deeper/b.bin"]


def test_a_sparse_file_counts_at_its_length(tmp_path: Path) -> None:
    with (tmp_path / "sparse").open("wb") as handle:
        handle.truncate(64 * MiB)
    assert tree_size(tmp_path, 10, 4).bytes >= 64 * MiB


def test_space_allocated_past_the_end_counts(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "prealloc", os.O_WRONLY | os.O_CREAT)
    try:
        try:
            os.posix_fallocate(fd, 0, 8 * MiB)
            os.truncate(fd, 0)  # the blocks stay allocated on most file systems...
        except OSError:
            pytest.skip("this file system cannot preallocate")
    finally:
        os.close(fd)
    allocated = (tmp_path / "prealloc").stat().st_blocks * 512
    assert tree_size(tmp_path, 10, 4).bytes >= allocated  # ...and are counted


def test_too_many_entries_or_too_deep_is_named(tmp_path: Path) -> None:
    for n in range(12):
        write(tmp_path / "wide" / f"f{n}", 1)
    deep = tmp_path / "deep"
    deep.joinpath(*["d"] * 6).mkdir(parents=True)
    assert tree_size(tmp_path / "wide", 10, 4).overflow == "more than 10 files and directories"
    assert tree_size(deep, 100, 4).overflow == "directories nested more than 4 deep"
    assert tree_size(deep, 100, 8).overflow is None
    assert tree_size(tmp_path / "missing", 10, 4).bytes == 0


def test_cut_back_keeps_the_first_written_files_within_the_quota(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write(results / "z-first.bin", MiB, mtime=1000)
    write(results / "sub" / "second.bin", MiB, mtime=2000)
    write(results / "a-third.bin", MiB, mtime=3000)
    write(results / "fourth.bin", MiB, mtime=4000)
    (results / "link").symlink_to("z-first.bin")
    cut = cut_back(results, int(2.5 * MiB), 100, 8)
    assert cut == CutBack(2, 2 * MiB, ("a-third.bin", "fourth.bin"), None)
    assert cut.describe() == "2 files (2M) were removed: a-third.bin, fourth.bin"
    kept = sorted(str(p.relative_to(results)) for p in results.rglob("*"))
    assert kept == ["sub", "sub/second.bin", "z-first.bin"]
    assert tree_size(results, 100, 8).bytes <= 2.5 * MiB
    assert not (tmp_path / "results.kept").exists()


def test_cut_back_without_room_for_a_directory_removes_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    write(results / "first.bin", MiB, mtime=1)
    write(results / "second.bin", MiB, mtime=2)

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "mkdir", full)
    cut = cut_back(results, MiB, 100, 8)
    assert cut == CutBack(1, MiB, ("second.bin",), None)
    assert [p.name for p in results.iterdir()] == ["first.bin"]


def test_cut_back_removes_what_lies_past_the_walk(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write(results / "a", 10, mtime=1)
    for n in range(20):
        write(results / "many" / f"f{n:02d}", 10, mtime=2)
    cut = cut_back(results, MiB, 5, 8)
    assert cut.beyond == "more than 5 files and directories"
    assert cut.describe() == (
        "what lay past the limit (more than 5 files and directories) was removed")
    assert tree_size(results, 100, 8).entries <= 5


def test_cut_back_names_a_few_files_and_counts_the_rest(tmp_path: Path) -> None:
    for n in range(9):
        write(tmp_path / "r" / f"f{n}", 4096, mtime=n)
    cut = cut_back(tmp_path / "r", 4096, 100, 8)
    assert cut.describe() == ("8 files (32K) were removed: f1, f2, f3, f4, f5 and 3 more")


def test_human_sizes_and_disk_problems() -> None:
    assert [human_size(n) for n in (5, 1024, 3500, 10 * 1024**3)] == [
        "5 bytes", "1K", "3.4K", "10G"]
    full = OSError(errno.ENOSPC, "No space left on device")
    assert disk_problem(full, "collecting its logs") == (
        "the job file system is full (collecting its logs)")
    assert disk_problem(OSError(errno.EDQUOT, "Disk quota exceeded"), "x") == (
        "the job file system is full (x)")
    assert disk_problem(OSError(errno.EACCES, "Permission denied"), "storing the uploads") == (
        "storing the uploads failed: Permission denied")


def test_a_job_does_not_start_without_room(tmp_path: Path) -> None:
    free = free_bytes(tmp_path)
    check_room(Settings(data_dir=tmp_path, jobs_dir=tmp_path, limits=Limits(min_free_disk="1M")))
    check_room(Settings(data_dir=tmp_path, jobs_dir=tmp_path, limits=Limits(min_free_disk=0)))
    wanted = (free // 1024**4 + 2) * 1024**4  # whole tebibytes more than there is
    greedy = Settings(data_dir=tmp_path, jobs_dir=tmp_path, limits=Limits(min_free_disk=wanted))
    with pytest.raises(ValueError, match=r"the job file system has .* free, less than the "
                                         rf"{wanted // 1024**4}T it keeps free"):
        check_room(greedy)


# -- removal -------------------------------------------------------------------------------


def read_only_tree(root: Path) -> None:
    """What a hostile app can leave: nested read-only directories and files, one of them
    closed even to its owner, a symlink out of the tree and a fifo."""
    write(root / "a" / "b" / "c" / "file.txt", 10)
    write(root / "a" / "top.txt", 10)
    (root / "a" / "b" / "out").symlink_to("/etc", target_is_directory=True)
    os.mkfifo(root / "a" / "b" / "pipe")
    (root / "a" / "b" / "shut").mkdir()
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        if path.is_symlink() or path.is_fifo():
            continue
        path.chmod(0o555 if path.is_dir() else 0o444)
    (root / "a" / "b" / "shut").chmod(0)
    root.chmod(0o555)


def test_read_only_trees_are_removed(tmp_path: Path) -> None:
    read_only_tree(tmp_path / "job")
    remove_tree(tmp_path / "job")
    assert not (tmp_path / "job").exists()
    assert Path("/etc/passwd").exists(), "a symlink is removed, never followed"
    remove_tree(tmp_path / "job")  # a second time is harmless


def finished(child: multiprocessing.process.BaseProcess) -> int | None:
    """Run `child` to its end (killed if it takes more than a minute); its exit code."""
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        child.join()
    return child.exitcode


def _remove_as(uid: int, parent: Path, name: str) -> None:
    os.chdir(parent)  # before giving up root: the test's ancestors are closed to `uid`
    os.setgid(uid)
    os.setuid(uid)
    remove_tree(Path(name))


def test_a_service_that_is_not_root_removes_its_read_only_trees(tmp_path: Path) -> None:
    """Without root's privileges, a read-only directory cannot be emptied until its owner
    makes it writable again: what a service running as the sandbox user must do."""
    if os.geteuid() != 0:
        read_only_tree(tmp_path / "job")
        remove_tree(tmp_path / "job")
    else:
        owner = 65534  # nobody: the files are its own, as the sandbox user's would be
        jobs = tmp_path / "jobs"
        read_only_tree(jobs / "job")
        for path in [jobs, *jobs.rglob("*")]:
            os.chown(path, owner, owner, follow_symlinks=False)
        child = multiprocessing.get_context("fork").Process(
            target=_remove_as, args=(owner, jobs, "job"))
        assert finished(child) == 0
    assert not (tmp_path / "jobs" / "job").exists() and not (tmp_path / "job").exists()


def _remove_foreign(parent: Path, name: str, errors: multiprocessing.Queue[str]) -> None:
    os.chdir(parent)
    os.setgid(65534)
    os.setuid(65534)
    try:
        remove_tree(Path(name))
    except OSError as exc:
        errors.put(f"{exc.errno} {exc.strerror}")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make files of another user")
def test_files_of_another_user_are_reported_not_ignored(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    write(jobs / "job" / "theirs" / "f.txt", 10)
    os.chown(jobs, 65534, 65534)
    os.chown(jobs / "job", 65534, 65534)
    (jobs / "job" / "theirs").chmod(0o555)  # root's, read-only: nobody cannot empty it
    errors: multiprocessing.Queue[str] = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(
        target=_remove_foreign, args=(jobs, "job", errors))
    assert finished(child) == 0
    assert errors.get(timeout=60) == (
        f"{errno.EACCES} could not remove job/theirs: Permission denied")
