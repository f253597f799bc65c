"""The sample OAI-PMH registry and its validator, one of each per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.oai_live import Live, oai_schemas, start_sample_registry
from tests.support.oai_samples import OAISchemas


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> OAISchemas:
    return oai_schemas(tmp_path_factory.mktemp("oai-schemas"))


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    registry = start_sample_registry()
    yield registry
    registry.stop()
