"""App projects: the manifest read from innerspace.toml or pyproject.toml (and which wins),
the example apps as they load, the files a build takes, and problems naming their file.
Projects are the example apps and directories written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from innerspace.apps.manifest import ManifestError
from innerspace.apps.project import load_project, read_manifest_data
from innerspace.apps.values import ParameterType
from tests.support.paths import EXAMPLES


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


def test_examples_lint_clean() -> None:
    for name in ("hello", "fits-stats"):
        assert load_project(EXAMPLES / name).manifest.name == name
