"""What every test may use: the IVOA schemas; and the markers that say what a test needs,
set from its fixtures so that no test can forget them:

- `docker`: its fixture closure includes `docker_client` (every fixture that builds images
  or starts a service on an engine depends on it; tests/integration/conftest.py);
- `swarm`: it runs on the two-node swarm (`swarm_cluster`, or the Swarm half of the UWS
  conformance tests);
- `postgres`: it uses the PostgreSQL server (`postgres_url`).

`pytest -m "not docker"` runs everything a machine without a Docker engine can run.
"""

from __future__ import annotations

import pytest

from tests.support.paths import SCHEMAS
from tests.support.postgres import postgres_url as find_postgres_url
from tests.support.postgres import reset_postgres
from tests.support.xmlcheck import SchemaSet

DOCKER_FIXTURE = "docker_client"
SWARM_FIXTURE = "swarm_cluster"
POSTGRES_FIXTURE = "postgres_url"


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


@pytest.fixture(scope="session")
def xml_schemas() -> SchemaSet:
    """Validators for every namespace innerspace emits; skips when ../shared is absent."""
    if not (SCHEMAS / "catalog.xml").is_file():
        pytest.skip(f"the IVOA schemas are not at {SCHEMAS} (a clone without ../shared); "
                    "set INNERSPACE_SHARED to the folder holding schemas/")
    return SchemaSet(SCHEMAS)


@pytest.fixture
def postgres_url() -> str:
    """The URL of an emptied PostgreSQL database; skips when there is no server."""
    url = find_postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL: `make test` sets one up as root, or set "
                    "INNERSPACE_TEST_DATABASE_URL")
    reset_postgres(url)
    return url
