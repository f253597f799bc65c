"""What every test may use: the IVOA schemas; and the markers that say what a test needs,
set from its fixtures so that no test can forget them:

- `docker`: its fixture closure includes `docker_client` (every fixture that builds images
  or starts a service on an engine depends on it; tests/integration/conftest.py);
- `swarm`: it runs on the two-node swarm (`swarm_cluster`, or the Swarm half of the UWS
  conformance tests);
- `postgres`: it uses the PostgreSQL server (`postgres_url`);
- `network`: it installs packages from PyPI (`pypi`, tests/integration/packaging).

`pytest -m "not docker"` runs everything a machine without a Docker engine can run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import exclusive_use, reset_postgres
from tests.support.postgres import postgres_url as find_postgres_url
from tests.support.tls import share_default_context
from tests.support.xmlcheck import SchemaSet, schema_folder

DOCKER_FIXTURE = "docker_client"
SWARM_FIXTURE = "swarm_cluster"
POSTGRES_FIXTURE = "postgres_url"
NETWORK_FIXTURE = "pypi"


def pytest_configure(config: pytest.Config) -> None:
    share_default_context()  # one TLS context for the test process's httpx clients: tls.py
    # rich fixes a console's width from COLUMNS when the console is made (the CLI's consoles
    # are made at import), and tests choose the width per command; pytest-xdist's workers
    # inherit COLUMNS=80 and LINES=24, which GNU readline (imported by pytest) sets.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if DOCKER_FIXTURE in needs:
            item.add_marker(pytest.mark.docker)
        if SWARM_FIXTURE in needs or params.get("engine_settings") == "swarm":
            item.add_marker(pytest.mark.swarm)
        if POSTGRES_FIXTURE in needs or params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)
        if NETWORK_FIXTURE in needs:
            item.add_marker(pytest.mark.network)


@pytest.fixture(scope="session")
def xml_schemas() -> SchemaSet:
    """Validators for every namespace innerspace emits (the schemas of Debian's python3-gavo,
    fetched by `make setup`, or now if it has not run)."""
    return SchemaSet(schema_folder())


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of an emptied PostgreSQL database, the test's alone until it ends (tests of
    other workers and sessions wait); skips when there is no server."""
    url = find_postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL: `make test` sets one up as root, or set "
                    "INNERSPACE_TEST_DATABASE_URL")
    with exclusive_use():
        reset_postgres(url)
        yield url
