"""How a job's container is launched: the argv rendered from the manifest's command and
the job's values, and the typed values params.json carries. No Docker, no database: Job
objects are built from innerspace.uws.store directly."""

from __future__ import annotations

from typing import Any

from innerspace.apps.manifest import AppManifest, validate_manifest
from innerspace.engines.base import CONTAINER_INPUTS
from innerspace.uws.launch import render_argv, typed_parameters
from innerspace.uws.phases import Phase
from innerspace.uws.store import Job, JobParameter


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
