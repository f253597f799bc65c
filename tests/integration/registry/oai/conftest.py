"""The sample OAI-PMH registry served over HTTP, its validator and a plain HTTP client; the
registry and the validator are made once per test module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
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


@pytest.fixture
def http(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client
