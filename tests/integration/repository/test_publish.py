"""A first check of the repository: publish hello to a real registry and run it from there."""

from __future__ import annotations

from typing import Any

from tests.support.paths import EXAMPLES
from tests.support.uwsutil import UWS, create, wait_final


def test_publish_and_run_from_registry(registry: Any, publish: Any, make_service: Any) -> None:
    pinned = publish(EXAMPLES / "hello", namespace="smoke")
    assert pinned.startswith(f"{registry.host}/smoke/hello@sha256:")
    service = make_service(repository=registry.repository("smoke"))
    with service.client() as http:
        apps = http.get("/apps").json()
        assert [a["image"] for a in apps["apps"] if a["name"] == "hello"] == [pinned]
        job_url = create(http, {"app": "hello", "name": "OCI", "PHASE": "RUN"})
        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        info = {e.tag.split("}")[1]: e.text for e in root.find(f"{UWS}jobInfo")}
        assert info["image"] == pinned
