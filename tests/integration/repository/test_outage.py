"""The registry goes away while a service uses it: the catalogue goes stale (and says so),
new jobs are refused with 503, running jobs are unharmed, and the catalogue recovers when
the registry is back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support.oci_registry import LiveRegistry
from tests.support.repository import (
    ImageJanitor,
    digest_of,
    post_job,
    result_text,
)
from tests.support.uwsutil import UWS, create, wait_final, wait_phase

# -- the registry goes away -------------------------------------------------------------------

def test_registry_stopped(registry: LiveRegistry, make_service: Any, docker_client: Any,
                          janitor: ImageJanitor,
                          publish_example: Callable[[str, str], str]) -> None:
    ns = "t-stopped"
    pinned = publish_example("hello", ns)
    second = LiveRegistry(registry.storage).start()  # the same images, another address
    try:
        via_second = f"{second.host}/{ns}/hello@{digest_of(pinned)}"
        janitor.reference(via_second)
        # Pulled beforehand, so that this test is about the outage, not about pulling
        # (test_pull_by_digest_when_engine_lacks_image covers that).
        docker_client.images.pull(via_second)
        service = make_service(repository={**second.repository(ns), "cache_ttl": 1})
        with service.client() as http:
            warm = http.get("/apps")
            assert warm.status_code == 200
            assert [a["image"] for a in warm.json()["apps"]] == [via_second]
            running = create(http, {"app": "hello", "name": "outage", "delay": "4",
                                    "PHASE": "RUN"})
            wait_phase(http, running, "EXECUTING")

            second.stop()
            time.sleep(1.6)  # past the cache's TTL and the minimum refresh interval

            refused = post_job(http, {"app": "hello"})
            assert refused.status_code == 503, (
                f"job creation answered {refused.status_code} with the registry down: "
                f"{refused.text}")
            assert refused.headers["content-type"].startswith("text/plain")
            assert second.host in refused.text

            stale = http.get("/apps")
            assert stale.status_code == 200, stale.text
            assert stale.json()["catalogue"]["stale"] is True
            assert [a["image"] for a in stale.json()["apps"]] == [via_second]
            assert "stale" in stale.headers.get("Warning", "")

            again = http.post("/apps/refresh")
            assert again.status_code == 503
            assert second.host in again.text

            root = wait_final(http, running)
            assert root.findtext(f"{UWS}phase") == "COMPLETED"
            assert result_text(http, running, "greeting.txt").strip() == "Hello, outage!"

            second.start()  # back on the same port: the catalogue recovers
            recovered = http.post("/apps/refresh")
            assert recovered.status_code == 200, recovered.text
            assert recovered.json()["catalogue"]["stale"] is False
            assert post_job(http, {"app": "hello"}).status_code == 303
    finally:
        second.stop()
        second.config.unlink(missing_ok=True)
