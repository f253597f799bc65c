"""Fixtures of the auth tests: a real OpenID Connect provider (tests/support/oidc_provider.py)
on a free loopback port, one for the session and more on demand.

Tests that use one are marked `oidc` from their fixtures (they need node, not Docker: they
run under `pytest -m "not docker"`, and skip with the reason when node or npm is missing).
When such a test fails, the end of its providers' logs is added to the report.

`make_auth_service` starts innerspace services to check tokens against (the fake engine:
no Docker)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from tests.support.fake_service import FakeEngineService
from tests.support.oidc_node import ProviderUnavailable
from tests.support.oidc_provider import OIDCProvider
from tests.support.progress import live_progress

OIDC_FIXTURES = frozenset({"oidc_provider", "make_oidc_provider"})
STARTED = pytest.StashKey[list[OIDCProvider]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "oidc: runs the test OpenID provider on node (set from the fixtures)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if OIDC_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.oidc)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed:
        for provider in item.stash.get(STARTED, []):
            report.sections.append((f"oidc-provider log ({provider.issuer})",
                                    provider.log_tail()))
    return report



def _start(provider: OIDCProvider) -> OIDCProvider:
    try:
        return provider.start()
    except ProviderUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def session_oidc_provider(tmp_path_factory: pytest.TempPathFactory,
                          pytestconfig: pytest.Config) -> Iterator[OIDCProvider]:
    provider = _start(OIDCProvider(
        tmp_path_factory.mktemp("oidc"), audiences=("innerspace", "innerspace-es256=ES256"),
        redirect_uris=("http://127.0.0.1:9/portal/callback",),
        say=live_progress(pytestconfig, "oidc")))
    yield provider
    provider.stop()


@pytest.fixture
def oidc_provider(session_oidc_provider: OIDCProvider,
                  request: pytest.FixtureRequest) -> OIDCProvider:
    """The session's provider: audiences `innerspace` (RS256, every client's default) and
    `innerspace-es256` (ES256); the default users and services; the portal client's redirect
    URI http://127.0.0.1:9/portal/callback. Tests leave its keys and clock as they found
    them (make_oidc_provider gives one of their own to change)."""
    request.node.stash.setdefault(STARTED, []).append(session_oidc_provider)
    return session_oidc_provider


@pytest.fixture
def make_oidc_provider(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config,
                       request: pytest.FixtureRequest
                       ) -> Iterator[Callable[..., OIDCProvider]]:
    """Start providers of the test's own (OIDCProvider's keyword arguments); all are stopped
    after the test."""
    own: list[OIDCProvider] = []

    def make(**settings: Any) -> OIDCProvider:
        provider = OIDCProvider(tmp_path_factory.mktemp("oidc"),
                                say=live_progress(pytestconfig, "oidc"), **settings)
        own.append(provider)
        request.node.stash.setdefault(STARTED, []).append(provider)
        return _start(provider)

    yield make
    for provider in own:
        provider.stop()


@pytest.fixture
def make_auth_service(tmp_path_factory: pytest.TempPathFactory
                      ) -> Iterator[Callable[..., FakeEngineService]]:
    """Start innerspace services with the given `auth` settings (tests/support/oidc_service
    has those of a service trusting a provider), the job machinery on the fake engine (no
    Docker), each on a loopback port of its own; all stopped after the test."""
    started: list[FakeEngineService] = []

    def make(**auth: Any) -> FakeEngineService:
        service = FakeEngineService(tmp_path_factory.mktemp("data"), auth=auth)
        started.append(service.start())
        return service

    yield make
    for service in started:
        service.stop()
