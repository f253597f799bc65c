"""A RegTAP index of the sample records and the RegTAP service over it, one of each per test
module; a client of that service, and pyvo pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from innerspace.registry.regtap import RegTAPIndex
from tests.support.regtap_live import LiveRegTAP
from tests.support.regtap_samples import sample_records


@pytest.fixture(scope="module")
def index() -> RegTAPIndex:
    index = RegTAPIndex()
    index.load(sample_records())
    return index


@pytest.fixture(scope="module")
def live(index: RegTAPIndex, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRegTAP]:
    """The service, with its /async job list (jobs in a temporary data directory)."""
    with LiveRegTAP(index, tmp_path_factory.mktemp("tap-jobs")) as service:
        yield service


@pytest.fixture(scope="module")
def regtap(live: LiveRegTAP) -> Iterator[str]:
    """pyvo.registry pointed at the live service (and back afterwards)."""
    from pyvo import registry

    previous = registry.regtap.get_RegTAP_service_url()
    registry.choose_RegTAP_service(live.url)
    yield live.url
    registry.choose_RegTAP_service(previous)


@pytest.fixture
def http(live: LiveRegTAP) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client
