"""Fixtures of the web hardening tests: the hostile-results test app, and a service that
runs it beside the example apps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.paths import TEST_APPS
from tests.support.services import LiveService


@pytest.fixture(scope="session")
def hostile_image(build_app: Callable[..., str]) -> str:
    return build_app(TEST_APPS / "hostile-results")


@pytest.fixture(scope="module")
def web_service(tmp_path_factory: pytest.TempPathFactory, example_apps: dict[str, str],
                hostile_image: str) -> Iterator[LiveService]:
    """A default service (anonymous access, the local engine's apps) that knows the
    hostile-results app, with one allowed origin besides its own."""
    live = LiveService(tmp_path_factory.mktemp("data"),
                       allowed_origins=["https://portal.example.net"]).start()
    yield live
    live.stop()


@pytest.fixture
def http(web_service: LiveService) -> Iterator[Any]:
    with web_service.client() as client:
        yield client
