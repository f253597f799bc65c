"""Two data centres, each an `innerspace serve` process of its own, the second harvesting
the first: the federation the tests of a running service's registry meet."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.datacentres import datacentre
from tests.support.services import ProcessService


@pytest.fixture(scope="module")
def centres(tmp_path_factory: pytest.TempPathFactory, example_apps: dict[str, str]
            ) -> Iterator[tuple[ProcessService, ProcessService]]:
    """North and South, started once per test module; South has harvested North."""
    first = ProcessService(tmp_path_factory.mktemp("dc1"),
                           datacentre=datacentre("ivo://north.example", "North", "north-sky"))
    first.start()
    second = ProcessService(tmp_path_factory.mktemp("dc2"),
                            datacentre=datacentre("ivo://south.example", "South",
                                                  "south-sky"),
                            harvest=[f"{first.url}/registry/oai"])
    second.start()
    httpx.post(f"{second.url}/registry/harvest", timeout=60).raise_for_status()
    yield first, second
    second.stop()
    first.stop()
