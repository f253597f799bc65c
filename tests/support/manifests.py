"""Manifests for the tests of the app manifest: a minimal valid one to vary, and the
problems validation finds in a variant."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from innerspace.apps.manifest import ManifestError, validate_manifest

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
