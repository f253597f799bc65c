"""The app manifest: loading from projects, every kind of invalid manifest, the JSON Schema.

Pure logic, no Docker: manifests are read from the example apps and from projects written
into tmp_path.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from innerspace.apps.manifest import (
    MANIFEST_LABEL,
    RESERVED_PARAMETERS,
    SCHEMA_ID,
    AppManifest,
    ManifestError,
    ParameterType,
    manifest_json_schema,
    validate_manifest,
)
from innerspace.apps.project import load_project, read_manifest_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "apps"

MINIMAL: dict[str, Any] = {
    "name": "demo",
    "version": "1.0.0",
    "title": "Demo",
    "run": {"module": "demo"},
}


def manifest(**changes: Any) -> dict[str, Any]:
    """MINIMAL with top-level keys replaced (a value of None removes the key)."""
    data = copy.deepcopy(MINIMAL)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def problems_of(data: Any) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        validate_manifest(data)
    assert caught.value.problems, "a ManifestError must list at least one problem"
    return caught.value.problems


def one_problem(data: Any) -> str:
    problems = problems_of(data)
    assert len(problems) == 1, problems
    return problems[0]


# -- valid manifests ---------------------------------------------------------------------


def test_hello_example_loads() -> None:
    project = load_project(EXAMPLES / "hello")
    m = project.manifest
    # name, version and description come from [project]; the rest from [tool.innerspace].
    assert (m.name, m.version, m.ref) == ("hello", "1.0.0", "hello:1.0.0")
    assert m.description.startswith("Greets someone")
    assert m.title == "Hello"
    assert m.run.argv_template() == ["python3", "-m", "hello"]
    assert set(m.parameters) == {"name", "delay"}
    assert m.parameters["name"].type is ParameterType.STRING
    assert m.parameters["name"].default == "World"
    assert m.parameters["delay"].type is ParameterType.FLOAT
    assert m.parameters["delay"].unit == "s"
    assert m.parameters["delay"].minimum == 0
    assert m.resources.cores == 0.5
    assert m.resources.memory_bytes == 128 * 1024**2
    assert m.resources.max_execution_time == 600
    assert [r.name for r in m.results] == ["greeting.txt"]
    assert project.root == (EXAMPLES / "hello").resolve()


def test_fits_stats_example_loads() -> None:
    project = load_project(EXAMPLES / "fits-stats")
    m = project.manifest
    assert (m.name, m.version) == ("fits-stats", "1.0.0")
    assert m.run.command == ["python3", "-m", "fits_stats", "{image}", "--stretch={stretch}"]
    image = m.parameters["image"]
    assert image.type is ParameterType.FILE and image.required and image.default is None
    stretch = m.parameters["stretch"]
    assert stretch.type is ParameterType.ENUM
    assert stretch.choices == ["linear", "log", "asinh"] and stretch.default == "asinh"
    assert {r.name: r.mime_type for r in m.results} == {
        "stats.json": "application/json", "preview.png": "image/png"}
    assert m.license == "BSD-3-Clause"


def test_project_files_skip_caches_and_build_output(tmp_path: Path) -> None:
    (tmp_path / "innerspace.toml").write_text(
        'name = "demo"\nversion = "1"\ntitle = "Demo"\nrun = { module = "demo" }\n')
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "__init__.py").write_text("")
    for junk in ("__pycache__/x.pyc", ".git/HEAD", "build/lib.py", "demo.egg-info/PKG-INFO"):
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_text("junk")
    (tmp_path / "link.py").symlink_to(tmp_path / "demo" / "__init__.py")
    files = load_project(tmp_path).files()
    assert files == [Path("demo/__init__.py"), Path("innerspace.toml")]


def test_innerspace_toml_project(tmp_path: Path) -> None:
    (tmp_path / "innerspace.toml").write_text("""
name = "cone"
version = "0.3.1"
title = "Cone search"
description = "Finds sources."
run = { command = ["python3", "/app/cone.py", "--ra={ra}", "--radius={radius}"] }

[parameters.ra]
type = "float"
required = true
unit = "deg"
minimum = 0
maximum = 360

[parameters.radius]
type = "float"
default = 0.1
unit = "deg"
""")
    project = load_project(tmp_path)
    m = project.manifest
    assert (m.name, m.version, m.description) == ("cone", "0.3.1", "Finds sources.")
    assert m.parameters["ra"].required and m.parameters["ra"].maximum == 360
    assert m.parameters["radius"].default == 0.1
    # Defaults of the optional tables.
    assert m.resources.cores == 1.0 and m.resources.memory == "1G"
    assert m.resources.max_execution_time == 3600
    assert m.results == [] and m.inner_apis == [] and m.requirements == []
    _, source = read_manifest_data(tmp_path)
    assert source == str(tmp_path / "innerspace.toml")


def test_name_version_description_fall_back_to_project_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("""
[project]
name = "from-project"
version = "2.5.0"
description = "Described once, in [project]."

[tool.innerspace]
title = "Fallback"
run = { module = "fallback" }
""")
    m = load_project(tmp_path).manifest
    assert (m.name, m.version) == ("from-project", "2.5.0")
    assert m.description == "Described once, in [project]."


def test_manifest_values_win_over_project_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("""
[project]
name = "project-name"
version = "1.0"
description = "project description"

[tool.innerspace]
name = "manifest-name"
version = "9.9"
description = "manifest description"
title = "T"
run = { module = "m" }
""")
    m = load_project(tmp_path).manifest
    assert (m.name, m.version, m.description) == ("manifest-name", "9.9",
                                                  "manifest description")


def test_innerspace_toml_takes_precedence_over_pyproject_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("""
[project]
name = "pkg"
version = "3.0"

[tool.innerspace]
title = "From pyproject"
run = { module = "a" }
""")
    (tmp_path / "innerspace.toml").write_text('title = "From innerspace.toml"\n'
                                              'run = { module = "b" }\n')
    m = load_project(tmp_path).manifest
    assert m.title == "From innerspace.toml"
    assert m.run.module == "b"
    # [project] still supplies what innerspace.toml leaves out.
    assert (m.name, m.version) == ("pkg", "3.0")


def test_project_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    with pytest.raises(ManifestError) as caught:
        load_project(tmp_path)
    assert "no manifest" in caught.value.problems[0]
    assert "[tool.innerspace]" in caught.value.problems[0]


def test_project_that_is_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_project(tmp_path / "missing")
    assert "is not a directory" in caught.value.problems[0]


def test_invalid_toml(tmp_path: Path) -> None:
    (tmp_path / "innerspace.toml").write_text('name = "demo"\ntitle = \n')
    with pytest.raises(ManifestError) as caught:
        load_project(tmp_path)
    assert caught.value.problems[0].startswith("not valid TOML")
    assert "innerspace.toml" in str(caught.value)


def test_invalid_pyproject_toml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.innerspace\ntitle = 'x'\n")
    with pytest.raises(ManifestError) as caught:
        load_project(tmp_path)
    assert caught.value.problems[0].startswith("not valid TOML")


def test_invalid_pyproject_toml_names_the_right_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.innerspace\ntitle = 'x'\n")
    with pytest.raises(ManifestError) as caught:
        load_project(tmp_path)
    assert str(caught.value).startswith(f"invalid {tmp_path / 'pyproject.toml'}:")


def test_problems_of_a_project_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "innerspace.toml").write_text('name = "demo"\nversion = "1"\n'
                                              'run = { module = "demo" }\n')
    with pytest.raises(ManifestError) as caught:
        load_project(tmp_path)
    assert str(tmp_path / "innerspace.toml") in str(caught.value)
    assert caught.value.problems == ["(top level): 'title' is a required property"]


# -- invalid manifests: every problem names its location ----------------------------------


def test_missing_title() -> None:
    assert one_problem(manifest(title=None)) == "(top level): 'title' is a required property"


def test_empty_title() -> None:
    assert one_problem(manifest(title="")).startswith("title: ")


@pytest.mark.parametrize("name", ["Hello", "with space", "-dash-first", "", "x" * 64, "a/b"])
def test_bad_name(name: str) -> None:
    problem = one_problem(manifest(name=name))
    assert problem.startswith("name: ")
    assert "does not match" in problem or "should be non-empty" in problem or "is too" in problem


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
    assert problems_of(["not", "a", "table"])[0].startswith("(top level): ")


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


# -- the JSON Schema and the image label -------------------------------------------------


def test_json_schema_is_draft_2020_12() -> None:
    schema = manifest_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) == {"name", "version", "title", "run"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("example", ["hello", "fits-stats"])
def test_json_schema_accepts_the_examples(example: str) -> None:
    data, _ = read_manifest_data(EXAMPLES / example)
    jsonschema.validate(data, manifest_json_schema(),
                        cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("bad", [
    manifest(title=None),
    manifest(name="UPPER"),
    manifest(parameters={"x": {"type": "complex"}}),
    manifest(resources={"cores": -2}),
    manifest(extra=True),
])
def test_json_schema_rejects_bad_manifests(bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, manifest_json_schema(), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("example", ["hello", "fits-stats"])
def test_label_round_trips(example: str) -> None:
    original = load_project(EXAMPLES / example).manifest
    label = original.to_label()
    assert "\n" not in label
    data = json.loads(label)
    assert "license" in data and "homepage" not in data  # None values are left out
    again = validate_manifest(data, f"label {MANIFEST_LABEL}")
    assert again == original
    assert again.to_label() == label


def test_label_round_trips_every_field() -> None:
    full = AppManifest.model_validate(manifest(
        authors=["A. Person"], license="MIT", homepage="https://example.org",
        subjects=["images"], requirements=["requests>=2"],
        inner_apis=[{"kind": "tap", "collection": "gaia"}],
        results=[{"name": "out.fits", "mime_type": "application/fits"}],
        parameters={
            "flag": {"type": "boolean", "default": True},
            "n": {"type": "integer", "minimum": 1, "maximum": 9, "default": 2},
            "link": {"type": "url", "required": True},
        },
        resources={"cores": 2, "memory": "2G", "max_execution_time": 60},
    ))
    again = validate_manifest(json.loads(full.to_label()))
    assert again == full
    assert again.parameters["flag"].default is True
    assert again.parameters["n"].default == 2


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
