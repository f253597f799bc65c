"""The manifest outside innerspace: its JSON Schema (draft 2020-12, agreeing with the
validator on the examples and on bad manifests) and the image label that carries it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from innerspace.apps.manifest import (
    MANIFEST_LABEL,
    SCHEMA_ID,
    AppManifest,
    manifest_json_schema,
    validate_manifest,
)
from innerspace.apps.project import load_project, read_manifest_data
from tests.support.manifests import manifest
from tests.support.paths import EXAMPLES


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
    validator = jsonschema.Draft202012Validator(manifest_json_schema())
    assert [error.message for error in validator.iter_errors(data)] == []


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
