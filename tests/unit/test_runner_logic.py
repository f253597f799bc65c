"""The pure parts of running a job: argv rendering, params.json values, phase transitions,
the job's result files and their MIME types. No Docker, no database: Job objects are built
from innerspace.uws.store directly and files live in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from innerspace.apps.manifest import AppManifest, validate_manifest
from innerspace.engines.base import CONTAINER_INPUTS
from innerspace.uws.errors import PhaseConflict
from innerspace.uws.jobfiles import JobFiles, mime_type
from innerspace.uws.launch import render_argv, typed_parameters
from innerspace.uws.phases import FINAL, Phase, check_transition
from innerspace.uws.store import Job, JobParameter, JobResult


def make_manifest(command: list[str] | None = None,
                  parameters: dict[str, Any] | None = None) -> AppManifest:
    run: dict[str, Any] = {"command": command} if command else {"module": "demo"}
    return validate_manifest({"name": "demo", "version": "1.0", "title": "Demo", "run": run,
                              "parameters": parameters or {}})


def make_job(manifest: AppManifest, *parameters: JobParameter) -> Job:
    return Job(id="abcdefghijklmnop", owner=None, phase=Phase.QUEUED, app=manifest.name,
               app_version=manifest.version, image="sha256:" + "0" * 64,
               manifest=manifest.model_dump(mode="json"), creation_time=0.0,
               execution_duration=60, destruction=3600.0, parameters=parameters)


# -- render_argv -------------------------------------------------------------------------


def test_render_argv_fills_placeholders() -> None:
    m = make_manifest(["tool", "{src}", "--n={n}", "--ratio={ratio}", "{a}-{b}"],
                      {"src": {"type": "string"}, "n": {"type": "integer"},
                       "ratio": {"type": "float"}, "a": {"type": "string"},
                       "b": {"type": "string"}})
    argv = render_argv(m, {"src": "x y.fits", "n": 3, "ratio": 0.5, "a": "L", "b": "R"})
    # A value with spaces stays one argv element: there is no shell.
    assert argv == ["tool", "x y.fits", "--n=3", "--ratio=0.5", "L-R"]


def test_render_argv_drops_elements_naming_a_missing_value() -> None:
    m = make_manifest(["tool", "--name={name}", "--opt={opt}", "{a}:{b}", "--fixed"],
                      {"name": {"type": "string"}, "opt": {"type": "string"},
                       "a": {"type": "string"}, "b": {"type": "string"}})
    # opt has no value; b neither, so "{a}:{b}" goes although a has one.
    assert render_argv(m, {"name": "Ada", "a": "1"}) == ["tool", "--name=Ada", "--fixed"]


def test_render_argv_booleans_are_true_false() -> None:
    m = make_manifest(["tool", "--verbose={verbose}", "--dry={dry}"],
                      {"verbose": {"type": "boolean"}, "dry": {"type": "boolean"}})
    assert render_argv(m, {"verbose": True, "dry": False}) == [
        "tool", "--verbose=true", "--dry=false"]


def test_render_argv_keeps_literal_braces_and_does_not_reinterpret_values() -> None:
    m = make_manifest(["tool", "{{literal}}", "--q={q}"], {"q": {"type": "string"}})
    assert render_argv(m, {"q": "{other}"}) == ["tool", "{literal}", "--q={other}"]


def test_render_argv_of_a_module_app() -> None:
    m = make_manifest(None, {"x": {"type": "integer"}})
    assert render_argv(m, {"x": 1}) == ["python3", "-m", "demo"]


# -- typed_parameters --------------------------------------------------------------------


PARAMETERS: dict[str, Any] = {
    "name": {"type": "string", "default": "World"},
    "count": {"type": "integer", "default": "3"},
    "scale": {"type": "float"},
    "loud": {"type": "boolean", "default": False},
    "mode": {"type": "enum", "choices": ["a", "b"], "default": "a"},
    "image": {"type": "file"},
}


def test_typed_parameters_applies_defaults_and_types() -> None:
    m = make_manifest(None, PARAMETERS)
    values = typed_parameters(m, make_job(m))
    # Defaults are coerced ("3" -> 3); a parameter without value or default is absent.
    assert values == {"name": "World", "count": 3, "loud": False, "mode": "a"}


def test_typed_parameters_given_values_win_and_are_typed() -> None:
    m = make_manifest(None, PARAMETERS)
    job = make_job(m, JobParameter("count", "12"), JobParameter("scale", "2.5"),
                   JobParameter("loud", "yes"), JobParameter("mode", "b"))
    values = typed_parameters(m, job)
    assert values == {"name": "World", "count": 12, "scale": 2.5, "loud": True, "mode": "b"}
    assert type(values["count"]) is int and type(values["scale"]) is float


def test_typed_parameters_files_are_container_paths_of_the_stored_name() -> None:
    m = make_manifest(None, PARAMETERS)
    job = make_job(m, JobParameter("image", "my field.fits", by_reference=True,
                                   file="image.fits"))
    values = typed_parameters(m, job)
    # The stored name, not the client's file name.
    assert values["image"] == f"{CONTAINER_INPUTS}/image.fits"
    assert values["image"] == "/innerspace/inputs/image.fits"


def test_typed_parameters_feed_render_argv() -> None:
    m = make_manifest(["python3", "-m", "fits_stats", "{image}", "--stretch={stretch}"],
                      {"image": {"type": "file", "required": True},
                       "stretch": {"type": "enum", "choices": ["linear", "asinh"],
                                   "default": "asinh"}})
    job = make_job(m, JobParameter("image", "m31.fits", True, "image.fits"))
    assert render_argv(m, typed_parameters(m, job)) == [
        "python3", "-m", "fits_stats", "/innerspace/inputs/image.fits", "--stretch=asinh"]


# -- phases ------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), [
    (Phase.PENDING, Phase.QUEUED),
    (Phase.PENDING, Phase.ABORTED),
    (Phase.PENDING, Phase.ERROR),
    (Phase.HELD, Phase.QUEUED),
    (Phase.HELD, Phase.ABORTED),
    (Phase.QUEUED, Phase.EXECUTING),
    (Phase.QUEUED, Phase.ABORTED),
    (Phase.QUEUED, Phase.ERROR),
    (Phase.EXECUTING, Phase.COMPLETED),
    (Phase.EXECUTING, Phase.ERROR),
    (Phase.EXECUTING, Phase.ABORTED),
    (Phase.SUSPENDED, Phase.EXECUTING),
])
def test_legal_transitions(current: Phase, target: Phase) -> None:
    check_transition(current, target)  # no exception


@pytest.mark.parametrize(("current", "target"), [
    (Phase.PENDING, Phase.EXECUTING),
    (Phase.PENDING, Phase.COMPLETED),
    (Phase.QUEUED, Phase.COMPLETED),
    (Phase.QUEUED, Phase.PENDING),
    (Phase.EXECUTING, Phase.QUEUED),
    (Phase.EXECUTING, Phase.PENDING),
    (Phase.COMPLETED, Phase.QUEUED),
    (Phase.COMPLETED, Phase.ABORTED),
    (Phase.ERROR, Phase.QUEUED),
    (Phase.ABORTED, Phase.QUEUED),
    (Phase.ARCHIVED, Phase.QUEUED),
    (Phase.UNKNOWN, Phase.QUEUED),
    (Phase.HELD, Phase.EXECUTING),
])
def test_illegal_transitions(current: Phase, target: Phase) -> None:
    with pytest.raises(PhaseConflict) as caught:
        check_transition(current, target)
    assert caught.value.status == 409
    assert caught.value.message == f"a job in phase {current} cannot move to {target}"


@pytest.mark.parametrize("final", sorted(FINAL))
def test_final_phases_never_move(final: Phase) -> None:
    assert final.is_final and not final.is_active
    for target in Phase:
        with pytest.raises(PhaseConflict):
            check_transition(final, target)


def test_active_phases() -> None:
    assert {p for p in Phase if p.is_active} == {Phase.QUEUED, Phase.EXECUTING}
    assert not Phase.PENDING.is_final and not Phase.PENDING.is_active


# -- JobFiles: results -------------------------------------------------------------------


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
