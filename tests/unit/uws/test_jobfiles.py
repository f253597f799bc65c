"""A job's files: the directory layout under the jobs directory, the result files listed and
served (never through a symlink, a FIFO or a path leaving the results), their MIME types,
and removal, also of trees too deep to walk by recursion. Files live in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from innerspace.uws.jobfiles import MAX_DEPTH, JobFiles, mime_type
from innerspace.uws.removal import remove_tree
from innerspace.uws.store import JobResult


@pytest.fixture
def files(tmp_path: Path) -> JobFiles:
    job = JobFiles.of(tmp_path / "jobs", "abc")
    job.create()
    return job


def test_a_jobs_files_live_under_the_jobs_directory(tmp_path: Path) -> None:
    assert JobFiles.of(tmp_path, "abcdefghijklmnop").root == tmp_path / "abcdefghijklmnop"


@pytest.mark.parametrize("job_id", ["", ".", "..", "a/b", "../x", "a\\b"])
def test_job_ids_cannot_leave_the_jobs_directory(tmp_path: Path, job_id: str) -> None:
    with pytest.raises(ValueError, match="cannot name a job directory"):
        JobFiles.of(tmp_path, job_id)


def test_create_makes_the_layout(files: JobFiles) -> None:
    assert files.inputs.is_dir() and files.results.is_dir() and files.logs.is_dir()
    assert files.params == files.root / "params.json"
    assert files.log("stdout") == files.root / "logs" / "stdout.txt"


def test_scan_results_lists_regular_files_then_logs(files: JobFiles, tmp_path: Path) -> None:
    (files.results / "stats.json").write_text('{"n": 1}')
    (files.results / "b" / "deep").mkdir(parents=True)
    (files.results / "b" / "deep" / "cube.fits").write_bytes(b"x" * 2880)
    (files.results / "a.png").write_bytes(b"\x89PNG")
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    (files.results / "link.txt").symlink_to(outside)
    (files.results / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(files.results / "pipe")
    files.log("stdout").write_text("hello\n")
    files.log("stderr").write_text("")

    results, _ = files.scan_results()

    # The app's files (symlinks and the fifo left out), then the two logs, in that order.
    assert sorted(results[:-2], key=lambda r: r.id) == [
        JobResult("a.png", 4, "image/png"),
        JobResult("b/deep/cube.fits", 2880, "application/fits"),
        JobResult("stats.json", 8, "application/json"),
    ]
    assert results[-2:] == [JobResult("stdout", 6, "text/plain"),
                            JobResult("stderr", 0, "text/plain")]


def test_scan_results_log_ids_belong_to_the_logs(files: JobFiles) -> None:
    (files.results / "stdout").write_text("an app file called stdout")
    (files.results / "sub").mkdir()
    (files.results / "sub" / "stderr").write_text("fine in a sub-directory")
    files.log("stdout").write_text("real log")
    ids = [(r.id, r.size) for r in files.scan_results()[0]]
    assert ids == [("sub/stderr", 23), ("stdout", 8)]


def test_scan_results_without_anything(tmp_path: Path) -> None:
    assert JobFiles.of(tmp_path, "never-created").scan_results() == ([], [])


def test_result_path_finds_regular_files(files: JobFiles) -> None:
    (files.results / "sub").mkdir()
    (files.results / "sub" / "x.csv").write_text("a,b\n")
    (files.results / "top.txt").write_text("t")
    assert files.result_path("sub/x.csv") == files.results / "sub" / "x.csv"
    assert files.result_path("top.txt") == files.results / "top.txt"


def test_result_path_serves_logs(files: JobFiles) -> None:
    assert files.result_path("stdout") is None  # not collected yet
    files.log("stdout").write_text("out")
    assert files.result_path("stdout") == files.log("stdout")


@pytest.mark.parametrize("result_id", [
    "../params.json", "../../secret.txt", "sub/../../params.json", "/etc/passwd", "", ".",
    "missing.txt", "sub",
])
def test_result_path_refuses_escapes_and_non_files(files: JobFiles, tmp_path: Path,
                                                   result_id: str) -> None:
    files.params.write_text("{}")
    (tmp_path / "secret.txt").write_text("s")
    (files.results / "sub").mkdir()
    assert files.result_path(result_id) is None


def test_result_path_refuses_symlinks(files: JobFiles, tmp_path: Path) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("secret")
    (files.results / "link.txt").symlink_to(target)
    inside = files.results / "real.txt"
    inside.write_text("real")
    (files.results / "inside-link.txt").symlink_to(inside)
    assert files.result_path("link.txt") is None
    assert files.result_path("inside-link.txt") is None


def test_result_path_refuses_symlinked_parent_directories(files: JobFiles,
                                                          tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("secret")
    (files.results / "escape").symlink_to(elsewhere, target_is_directory=True)
    assert (files.results / "escape" / "secret.txt").is_file()  # reachable on disk...
    assert files.result_path("escape/secret.txt") is None  # ...but never served


def test_result_path_refuses_fifos(files: JobFiles) -> None:
    os.mkfifo(files.results / "pipe")
    assert files.result_path("pipe") is None


def test_remove(files: JobFiles) -> None:
    (files.results / "x").write_text("x")
    files.remove()
    assert not files.root.exists()
    files.remove()  # a second time is harmless


# -- MIME types --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("image.fits", "application/fits"),
    ("IMAGE.FITS", "application/fits"),
    ("x.fit", "application/fits"),
    ("x.fits.fz", "application/fits"),
    ("table.vot", "application/x-votable+xml"),
    ("table.votable", "application/x-votable+xml"),
    ("t.ecsv", "text/x-ecsv"),
    ("t.parquet", "application/vnd.apache.parquet"),
    ("stats.json", "application/json"),
    ("t.csv", "text/csv"),
    ("notes.txt", "text/plain"),
    ("run.log", "text/plain"),
    ("plot.png", "image/png"),
    ("d.h5", "application/x-hdf5"),
    ("d.hdf5", "application/x-hdf5"),
    ("page.html", "text/html"),
    ("no-suffix", "application/octet-stream"),
    ("weird.zzzunknown", "application/octet-stream"),
])
def test_mime_type(name: str, expected: str) -> None:
    assert mime_type(name) == expected


def test_deep_result_trees_are_walked_and_removed(tmp_path: Path) -> None:
    files = JobFiles.of(tmp_path, "job")
    files.create()
    deep = str(files.results)
    for _ in range(1200):  # deeper than Python's recursion limit
        deep += "/a"
        os.mkdir(deep)
    with open(deep + "/end.txt", "w") as handle:
        handle.write("x")
    (files.results / "top.txt").write_text("y")
    found, skipped = files.scan_results()
    assert [r.id for r in found] == ["top.txt"]
    assert skipped == ["/".join(["a"] * MAX_DEPTH)]
    remove_tree(files.root)
    assert not files.root.exists()
