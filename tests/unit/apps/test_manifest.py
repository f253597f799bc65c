"""The app manifest's validation: every kind of invalid manifest, each problem naming where
it is, command placeholders, and parameters looked up by name."""

from __future__ import annotations

from typing import Any

import pytest

from innerspace.apps.manifest import RESERVED_PARAMETERS, ManifestError, validate_manifest
from tests.support.manifests import manifest, one_problem, problems_of

# -- invalid manifests: every problem names its location ----------------------------------


def test_missing_title() -> None:
    assert one_problem(manifest(title=None)) == "(top level): 'title' is a required property"


def test_empty_title() -> None:
    assert one_problem(manifest(title="")).startswith("title: ")


@pytest.mark.parametrize("name", ["Hello", "with space", "-dash-first", "", "x" * 64, "a/b"])
def test_bad_name(name: str) -> None:
    problem = one_problem(manifest(name=name))
    assert problem.startswith(f"name: {name!r} does not match ")


def test_pattern_problems_explain_the_pattern() -> None:
    problem = one_problem(manifest(name="Phot"))
    assert problem.startswith("name: 'Phot' does not match ")
    assert "lower-case letters" in problem


@pytest.mark.parametrize("version", ["", "1 0", ".1", "v1/2"])
def test_bad_version(version: str) -> None:
    assert one_problem(manifest(version=version)).startswith("version: ")


def test_unknown_top_level_key() -> None:
    problem = one_problem(manifest(colour="red"))
    assert problem.startswith("(top level): ")
    assert "'colour' was unexpected" in problem


def test_unknown_parameter_key() -> None:
    data = manifest(parameters={"x": {"type": "string", "colour": "red"}})
    problem = one_problem(data)
    assert problem.startswith("parameters.x: ")
    assert "'colour' was unexpected" in problem


def test_unknown_resources_key() -> None:
    problem = one_problem(manifest(resources={"gpus": 1}))
    assert problem.startswith("resources: ") and "'gpus' was unexpected" in problem


def test_unknown_parameter_type() -> None:
    problem = one_problem(manifest(parameters={"x": {"type": "complex"}}))
    assert problem.startswith("parameters.x.type: ")
    assert "'complex' is not one of" in problem


def test_parameter_without_type() -> None:
    problem = one_problem(manifest(parameters={"x": {"description": "no type"}}))
    assert problem == "parameters.x: 'type' is a required property"


@pytest.mark.parametrize("choices", [None, []])
def test_enum_without_choices(choices: list[str] | None) -> None:
    param: dict[str, Any] = {"type": "enum"}
    if choices is not None:
        param["choices"] = choices
    problem = one_problem(manifest(parameters={"mode": param}))
    assert problem == "parameters.mode: an enum parameter needs a non-empty 'choices' list"


def test_choices_on_a_non_enum() -> None:
    problem = one_problem(manifest(parameters={"x": {"type": "string", "choices": ["a"]}}))
    assert problem == "parameters.x: 'choices' is only allowed for enum parameters"


def test_default_on_a_file_parameter() -> None:
    problem = one_problem(manifest(parameters={"img": {"type": "file", "default": "a.fits"}}))
    assert problem == "parameters.img: a file parameter cannot have a default"


def test_required_with_default() -> None:
    data = manifest(parameters={"x": {"type": "integer", "required": True, "default": 3}})
    assert one_problem(data) == "parameters.x: a required parameter cannot have a default"


@pytest.mark.parametrize(("param", "fragment"), [
    ({"type": "integer", "default": "abc"}, "must be an integer"),
    ({"type": "integer", "default": 5, "minimum": 10}, "must be >= 10"),
    ({"type": "enum", "choices": ["a", "b"], "default": "c"}, "must be one of a, b"),
    ({"type": "url", "default": "file:///etc/passwd"}, "must be an absolute URL"),
    ({"type": "float", "default": "nan"}, "must be a finite number"),
])
def test_default_must_fit_its_parameter(param: dict[str, Any], fragment: str) -> None:
    problem = one_problem(manifest(parameters={"x": param}))
    assert problem.startswith("parameters.x: ")
    assert fragment in problem


@pytest.mark.parametrize("name", ["PHASE", "phase", "app", "App", "RUNID", "upload",
                                  "executionDuration", "destruction", "owner", "MAXREC"])
def test_reserved_parameter_names(name: str) -> None:
    problem = one_problem(manifest(parameters={name: {"type": "string"}}))
    assert problem == f"parameters: parameter name {name!r} is reserved by UWS/innerspace"
    assert name.lower() in RESERVED_PARAMETERS


@pytest.mark.parametrize("name", ["1x", "with-dash", "has space", "ä"])
def test_parameter_name_must_be_an_identifier(name: str) -> None:
    problem = one_problem(manifest(parameters={name: {"type": "string"}}))
    assert problem == f"parameters: parameter name {name!r} must be an identifier"


def test_parameter_names_differing_only_by_case() -> None:
    data = manifest(parameters={"Flux": {"type": "float"}, "flux": {"type": "float"}})
    problem = one_problem(data)
    assert problem.startswith("parameters: parameter names differ only by case")
    assert "'flux'" in problem


@pytest.mark.parametrize("run", [
    {"module": "demo", "command": ["python3", "demo.py"]},
    {},
])
def test_command_and_module_both_or_neither(run: dict[str, Any]) -> None:
    assert one_problem(manifest(run=run)) == (
        "run: give exactly one of 'command' (argv list) or 'module'")


def test_empty_command() -> None:
    assert one_problem(manifest(run={"command": []})).startswith("run.command: ")


def test_bad_module_name() -> None:
    assert one_problem(manifest(run={"module": "not a module"})).startswith("run.module: ")


def test_missing_run() -> None:
    assert one_problem(manifest(run=None)) == "(top level): 'run' is a required property"


def test_command_placeholder_naming_an_unknown_parameter() -> None:
    data = manifest(run={"command": ["tool", "--x={x}", "--y={y}"]},
                    parameters={"x": {"type": "integer"}})
    problem = one_problem(data)
    assert "run.command refers to unknown parameter {y}" in problem


def test_command_with_an_unbalanced_brace() -> None:
    problem = one_problem(manifest(run={"command": ["tool", "{"]}))
    assert "in argument '{'" in problem
    assert "Single '{' encountered" in problem


def test_bad_memory() -> None:
    problem = one_problem(manifest(resources={"memory": "12 parsecs"}))
    assert problem == "resources.memory: not a memory size: '12 parsecs' (use e.g. 512M or 2G)"


@pytest.mark.parametrize("cores", [-1, 0, 257])
def test_cores_out_of_range(cores: float) -> None:
    problem = one_problem(manifest(resources={"cores": cores}))
    assert problem.startswith("resources.cores: ")
    assert str(cores) in problem


def test_execution_time_must_be_positive() -> None:
    problem = one_problem(manifest(resources={"max_execution_time": 0}))
    assert problem.startswith("resources.max_execution_time: ")


def test_result_name_must_be_a_plain_name() -> None:
    problem = one_problem(manifest(results=[{"name": "../escape.txt"}]))
    assert problem.startswith("results.0.name: ")


def test_inner_api_needs_a_kind() -> None:
    problem = one_problem(manifest(inner_apis=[{"collection": "gaia"}]))
    assert problem == "inner_apis.0: 'kind' is a required property"


def test_every_schema_problem_is_reported_at_once() -> None:
    problems = problems_of(manifest(title=None, name="Bad Name", colour=1))
    assert len(problems) == 3
    assert any(p.startswith("name: ") for p in problems)
    assert any("'title' is a required property" in p for p in problems)
    assert any("'colour' was unexpected" in p for p in problems)


def test_not_an_object() -> None:
    assert problems_of(["not", "a", "table"]) == [
        "(top level): ['not', 'a', 'table'] is not of type 'object'"]


def test_error_message_names_the_source() -> None:
    with pytest.raises(ManifestError) as caught:
        validate_manifest(manifest(title=None), "my/innerspace.toml")
    text = str(caught.value)
    assert text.startswith("invalid my/innerspace.toml:")
    assert "  - (top level): 'title' is a required property" in text


# -- placeholders ------------------------------------------------------------------------


def test_placeholders_in_one_element_and_literal_braces() -> None:
    data = manifest(run={"command": ["tool", "{a}:{b}", "{{literal}}", "--c={c}"]},
                    parameters={"a": {"type": "string"}, "b": {"type": "string"},
                                "c": {"type": "string"}})
    assert validate_manifest(data).run.command == ["tool", "{a}:{b}", "{{literal}}", "--c={c}"]
    # "{{literal}}" names no parameter, so it needs none; a missing {b} is caught.
    del data["parameters"]["b"]
    assert "run.command refers to unknown parameter {b}" in one_problem(data)


def test_parameter_lookup_ignores_case() -> None:
    m = validate_manifest(manifest(parameters={"MaxFlux": {"type": "float"}}))
    found = m.parameter("maxflux")
    assert found is not None and found[0] == "MaxFlux"
    assert m.parameter("minflux") is None


@pytest.mark.parametrize("arg", ["{}", "--x={}"])
def test_positional_placeholder_is_refused(arg: str) -> None:
    problem = one_problem(manifest(run={"command": ["tool", arg]}))
    assert problem.startswith(("run", "(top level)"))
    assert "{}" in problem


@pytest.mark.parametrize("arg", ["{x!r}", "--x={x:>8}", "{0}"])
def test_conversions_and_format_specs_are_refused(arg: str) -> None:
    problem = one_problem(manifest(run={"command": ["tool", arg]},
                                   parameters={"x": {"type": "string"}}))
    assert "write fields as {name}" in problem
