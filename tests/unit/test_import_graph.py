"""The shape of the code, checked: the import graph of src/innerspace has no cycle, every
part imports only the parts beneath it, no module grows past 500 lines, and the code that
runs inside containers imports nothing but the standard library."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import SRC

PACKAGE = "innerspace"
MAX_LINES = 500

# The parts of innerspace, bottom to top, and what each may import. A module belongs to the
# first part whose pattern matches its name; "*.routes" and "*_routes" modules are the HTTP
# handlers of their package and form the `http` part.
FOUNDATION = {"errors", "units", "xmltext", "vocabulary", "dockerhost"}
ALLOWED: dict[str, set[str]] = {
    "foundation": set(),
    "runtime": set(),
    # Metrics and logs: prometheus_client and the standard library only, so that every part
    # above may record into it.
    "observability": {"foundation"},
    "config": {"foundation"},
    "db": {"foundation", "config"},
    "apps": {"foundation", "config"},
    "inner": {"foundation", "config", "apps"},
    "engines": {"foundation", "config"},
    "uws": {"foundation", "config", "db", "apps", "inner", "engines", "runtime",
            "observability"},
    "registry": {"foundation", "config", "db", "apps", "observability"},
    "auth": {"foundation", "config"},
    "web": {"foundation", "config", "auth", "observability"},
    "http": {"foundation", "config", "db", "apps", "inner", "engines", "uws", "registry",
             "auth", "web", "observability"},
    "portal": {"foundation", "config", "db", "apps", "inner", "engines", "uws", "registry",
               "client",  # the federation planner (client/federation.py), on the index
               "auth", "web", "http", "observability"},
    "server": {"foundation", "config", "db", "apps", "inner", "engines", "uws", "registry",
               "auth", "web", "http", "portal", "observability"},
    "client": {"foundation"},
    "cli": {"foundation", "config", "apps", "engines", "client", "server", "observability"},
}
# Runs inside app containers or on cluster nodes: the standard library only.
STDLIB_ONLY = ("innerspace.runtime", "innerspace.engines.staging.server",
               "innerspace.engines.staging.job")


def part_of(module: str) -> str:
    parts = module.split(".")
    if module == PACKAGE or parts[1] in FOUNDATION:
        return "foundation"
    if parts[-1] == "routes" or parts[-1].endswith("_routes"):
        return "http"
    return parts[1]


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        relative = path.relative_to(SRC).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def resolve(name: str) -> str | None:
    """The innerspace module `name` names (or the nearest package holding it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """The innerspace modules `module` imports, with line numbers: at the top, inside
    functions and under TYPE_CHECKING alike (an import hidden in a function is still a
    dependency)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE and (target := resolve(alias.name)):
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                target = resolve(f"{base}.{alias.name}")
                if target == base or target is None:
                    target = resolve(base)
                if target:
                    yield target, node.lineno


GRAPH = {module: sorted({t for t, _ in imports(module, path) if t != module})
         for module, path in MODULES.items()}


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, []))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_checker_finds_a_cycle() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": ["b"], "b": []}) == []


def test_no_import_cycles() -> None:
    cycles = strongly_connected(GRAPH)
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_every_part_imports_only_the_parts_beneath_it() -> None:
    wrong = []
    for module, path in MODULES.items():
        part = part_of(module)
        assert part in ALLOWED, f"{module} is in no known part ({part}): add it to ALLOWED"
        for target, line in imports(module, path):
            other = part_of(target)
            if other != part and other not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(SRC)}:{line}: {part} imports {other} "
                             f"({target})")
    assert wrong == [], "imports against the layering:\n" + "\n".join(wrong)


@pytest.mark.parametrize("module", STDLIB_ONLY)
def test_container_code_needs_only_the_standard_library(module: str) -> None:
    paths = [path for name, path in MODULES.items()
             if name == module or name.startswith(module + ".")]
    assert paths, f"{module} not found"
    outside = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            for name in names:
                top = name.split(".")[0]
                if top and top not in sys.stdlib_module_names and top != "__future__" and \
                        not name.startswith(module):
                    outside.append(f"{path.name}: {name}")
    assert outside == []


def test_no_module_is_longer_than_the_limit() -> None:
    long = {str(path.relative_to(SRC)): n for path in MODULES.values()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}
