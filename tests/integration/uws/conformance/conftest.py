"""UWS 1.1 (IVOA Recommendation 2016-10-24) conformance of innerspace's job service.

Every XML document the tests here receive (job list, job, parameters, results, VOSI, and
what pyvo fetches) is validated against the IVOA schemas on arrival (tests/support/
uwsclient.py). Jobs run the `hello` example app with small delays; `fits-stats` covers file
uploads and failures. Every test runs twice: on the local Docker engine and on a real
two-node Docker Swarm.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module", params=["docker", "swarm"])
def engine_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test here runs on the local engine and on a two-node Swarm."""
    if request.param == "docker":
        return {}
    return dict(request.getfixturevalue("swarm_cluster").settings())
