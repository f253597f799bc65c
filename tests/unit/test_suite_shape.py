"""The shape of the tests, checked: every test can fail (it asserts, expects an exception,
or calls a helper of the tests that does), no test file grows past 500 lines, and every
folder of tests is a package (so that module names may repeat across folders)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

TESTS = ROOT / "tests"
MAX_LINES = 500
# Calls that check by raising: pytest's expectations and pytest.fail.
CHECKING_CALLS = frozenset({"raises", "warns", "fail"})

Function = ast.FunctionDef | ast.AsyncFunctionDef


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def checks_itself(function: Function) -> bool:
    """An assert, `raise AssertionError`, or a pytest call that fails on its own."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if (isinstance(node, ast.Raise) and node.exc is not None
                and "AssertionError" in ast.unparse(node.exc)):
            return True
        if isinstance(node, ast.Call) and called_name(node) in CHECKING_CALLS:
            return True
    return False


def called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def calls(function: Function) -> set[str]:
    return {name for node in ast.walk(function) if isinstance(node, ast.Call)
            if (name := called_name(node)) is not None}


def unchecked_tests(files: list[Path]) -> list[str]:
    """Test functions that neither check anything nor call a function of the tests that
    does (directly or through other such functions; functions are matched by name)."""
    functions: dict[str, list[Function]] = {}
    tests: list[tuple[Path, Function]] = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.setdefault(node.name, []).append(node)
                if path.name.startswith("test_") and node.name.startswith("test_"):
                    tests.append((path, node))
    checking = {name for name, defs in functions.items() if any(map(checks_itself, defs))}
    called = {name: set().union(*map(calls, defs)) for name, defs in functions.items()}
    grown = True
    while grown:
        grown = False
        for name, names in called.items():
            if name not in checking and names & checking:
                checking.add(name)
                grown = True
    return [f"{path}:{test.lineno} {test.name}" for path, test in tests
            if not checks_itself(test) and not calls(test) & checking]


def test_the_checker_finds_a_test_without_a_check(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "def helper(x):\n    assert x\n\n"
        "def test_checks():\n    assert 1\n\n"
        "def test_through_a_helper():\n    helper(1)\n\n"
        "def test_expects():\n    with pytest.raises(ValueError):\n        int('x')\n\n"
        "def test_nothing():\n    int('1')\n")
    found = unchecked_tests([tmp_path / "test_sample.py"])
    assert [entry.rsplit(" ", 1)[-1] for entry in found] == ["test_nothing"]


def test_every_test_checks_something() -> None:
    assert unchecked_tests(python_files()) == []


def test_no_test_file_is_longer_than_the_limit() -> None:
    assert {str(p.relative_to(ROOT)): n for p in python_files()
            if (n := len(p.read_text().splitlines())) > MAX_LINES} == {}


def test_every_folder_of_tests_is_a_package() -> None:
    # The test apps (tests/apps/NAME) are app projects, copied into images, not packages.
    folders = {p.parent for p in python_files() if p.parent.parent != TESTS / "apps"}
    assert sorted(str(f.relative_to(ROOT)) for f in folders
                  if not (f / "__init__.py").is_file()) == []
