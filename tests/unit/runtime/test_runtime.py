"""The stdlib runtime helper app code imports inside its container, run here outside one:
INNERSPACE_PARAMS, INNERSPACE_INPUTS and INNERSPACE_RESULTS point into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from innerspace import runtime


@pytest.fixture
def job(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A job's three places in tmp_path, wired up through the environment variables."""
    (tmp_path / "inputs").mkdir()
    (tmp_path / "results").mkdir()
    monkeypatch.setenv("INNERSPACE_PARAMS", str(tmp_path / "params.json"))
    monkeypatch.setenv("INNERSPACE_INPUTS", str(tmp_path / "inputs"))
    monkeypatch.setenv("INNERSPACE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("INNERSPACE_JOB_ID", "abcdefghijklmnop")
    return tmp_path


def write_params(root: Path, values: dict[str, Any]) -> None:
    (root / "params.json").write_text(json.dumps(values))


def test_params_are_typed(job: Path) -> None:
    write_params(job, {"name": "Ada", "count": 3, "ratio": 0.5, "loud": True,
                       "image": "/innerspace/inputs/image.fits"})
    params = runtime.params()
    assert params == {"name": "Ada", "count": 3, "ratio": 0.5, "loud": True,
                      "image": "/innerspace/inputs/image.fits"}
    assert type(params["count"]) is int and params["loud"] is True


def test_params_must_be_an_object(job: Path) -> None:
    (job / "params.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="does not hold a JSON object"):
        runtime.params()


def test_params_missing_file(job: Path) -> None:
    with pytest.raises(FileNotFoundError):
        runtime.params()


def test_default_locations(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INNERSPACE_PARAMS", "INNERSPACE_INPUTS", "INNERSPACE_RESULTS",
                 "INNERSPACE_JOB_ID"):
        monkeypatch.delenv(name, raising=False)
    assert runtime.inputs_dir() == Path("/innerspace/inputs")
    assert runtime.results_dir() == Path("/innerspace/results")
    assert runtime.job_id() is None


def test_directories_and_job_id_follow_the_environment(job: Path) -> None:
    assert runtime.inputs_dir() == job / "inputs"
    assert runtime.results_dir() == job / "results"
    assert runtime.job_id() == "abcdefghijklmnop"


def test_input_path_maps_container_paths_into_inputs_dir(job: Path) -> None:
    (job / "inputs" / "image.fits").write_bytes(b"SIMPLE  =")
    write_params(job, {"image": "/innerspace/inputs/image.fits", "n": 1})
    path = runtime.input_path("image")
    assert path == job / "inputs" / "image.fits"
    assert path.read_bytes() == b"SIMPLE  ="


def test_input_path_keeps_existing_paths(job: Path) -> None:
    real = job / "inputs" / "table.vot"
    real.write_text("<VOTABLE/>")
    write_params(job, {"table": str(real)})
    assert runtime.input_path("table") == real


@pytest.mark.parametrize("values", [{}, {"image": None}, {"image": 3}])
def test_input_path_without_a_file(job: Path, values: dict[str, Any]) -> None:
    write_params(job, values)
    with pytest.raises(KeyError, match="no file was given for parameter 'image'"):
        runtime.input_path("image")


def test_write_result_text_and_bytes(job: Path) -> None:
    text_path = runtime.write_result("greeting.txt", "Hello, Ada! ✓\n")
    assert text_path == job / "results" / "greeting.txt"
    assert text_path.read_text(encoding="utf-8") == "Hello, Ada! ✓\n"
    data_path = runtime.write_result("plots/preview.png", b"\x89PNG\r\n")
    assert data_path == job / "results" / "plots" / "preview.png"
    assert data_path.read_bytes() == b"\x89PNG\r\n"


def test_write_result_replaces_an_existing_file(job: Path) -> None:
    runtime.write_result("out.txt", "first, and longer")
    runtime.write_result("out.txt", "second")
    assert (job / "results" / "out.txt").read_text() == "second"


def test_result_path_creates_sub_directories(job: Path) -> None:
    path = runtime.result_path("a/b/c.json")
    assert path == job / "results" / "a" / "b" / "c.json"
    assert path.parent.is_dir() and not path.exists()


@pytest.mark.parametrize("name", ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "",
                                  "."])
def test_result_path_refuses_paths_outside_the_results(job: Path, name: str) -> None:
    with pytest.raises(ValueError, match="must be a relative path inside the results"):
        runtime.result_path(name)
    assert not (job / "escape.txt").exists()


def test_write_result_refuses_escapes(job: Path) -> None:
    with pytest.raises(ValueError, match="must be a relative path inside the results"):
        runtime.write_result("../params.json", "{}")
    assert not (job / "params.json").exists()


@pytest.mark.parametrize(("fraction", "message", "line"), [
    (0.5, "half way", "##innerspace-progress 0.500 half way"),
    (0, "", "##innerspace-progress 0.000"),
    (1, "done", "##innerspace-progress 1.000 done"),
    (1.7, "too far", "##innerspace-progress 1.000 too far"),
    (-0.2, "before", "##innerspace-progress 0.000 before"),
    (None, "just a message", "##innerspace-progress - just a message"),
    (0.25, "  multi\nline\tmessage ", "##innerspace-progress 0.250 multi line message"),
    (1 / 3, "", "##innerspace-progress 0.333"),
])
def test_progress_lines(capsys: pytest.CaptureFixture[str], fraction: float | None,
                        message: str, line: str) -> None:
    runtime.progress(fraction, message)
    captured = capsys.readouterr()
    assert captured.out == line + "\n"
    assert captured.err == ""


def test_progress_line_starts_with_the_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    runtime.progress(0.1, "x")
    assert capsys.readouterr().out.startswith(runtime.PROGRESS_PREFIX + " ")


def test_public_names() -> None:
    assert sorted(runtime.__all__) == [
        "data_path", "input_path", "inputs_dir", "job_id", "params", "progress",
        "result_path", "results_dir", "service", "services", "write_result"]
    for name in runtime.__all__:
        assert callable(getattr(runtime, name))


def test_services_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services = tmp_path / "services.json"
    monkeypatch.setenv("INNERSPACE_SERVICES", str(services))
    assert runtime.services() == {"kinds": {}, "standard_ids": {}}
    entry = {"name": "sky", "kind": "posix-collection", "collections": ["sky", "deep"],
             "standard_id": "ivo://innerspace.org/std/inner-api#posix-collection",
             "path": "/data/sky", "paths": {"sky": "/data/sky", "deep": "/data/deep"}}
    tap = {"name": "tap", "kind": "tap", "standard_id": "ivo://ivoa.net/std/TAP",
           "url": "http://tap.inner/tap", "collections": []}
    services.write_text(json.dumps({
        "kinds": {"posix-collection": [entry], "tap": [tap]},
        "standard_ids": {entry["standard_id"]: [entry], tap["standard_id"]: [tap]}}))
    assert runtime.service("tap")["url"] == "http://tap.inner/tap"
    assert runtime.service("ivo://ivoa.net/std/TAP")["name"] == "tap"
    assert runtime.data_path("deep") == Path("/data/deep")
    with pytest.raises(KeyError, match="no inner API sia2 is bound"):
        runtime.service("sia2")
    with pytest.raises(KeyError, match="collection 'other'"):
        runtime.data_path("other")


def test_base_image_root_filesystem_gets_the_runtime(tmp_path: Path) -> None:
    from innerspace.apps.base_image import APP_UID, _prepare_rootfs

    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (tmp_path / "etc/group").write_text("root:x:0:\n")
    _prepare_rootfs(tmp_path)
    package = tmp_path / "usr/local/lib/python3.11/dist-packages/innerspace"
    assert (package / "runtime" / "__init__.py").read_text() == Path(
        runtime.__file__).read_text()
    assert f"app:x:{APP_UID}:{APP_UID}" in (tmp_path / "etc/passwd").read_text()
    assert (tmp_path / "innerspace/results").is_dir()
