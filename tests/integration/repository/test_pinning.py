"""A job's image is pinned by digest when the job is created: `name`, `name:version` and
`name@digest` resolve to a digest-pinned image, an engine that lacks the image pulls it by
digest, and a tag moved after creation does not change the job's image.

Every test uses its own registry namespace; images made under temporary versions are
removed afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.oci_registry import LiveRegistry
from tests.support.repository import (
    ZERO_DIGEST,
    digest_of,
    job_document,
    job_info,
    post_job,
    result_text,
    unique_version,
)
from tests.support.uwsutil import UWS, create, wait_final

# -- resolving to a digest -------------------------------------------------------------------

def test_job_records_digest_pinned_image(registry: LiveRegistry, make_service: Any,
                                         publish_example: Callable[[str, str], str]) -> None:
    ns = "t-resolve"
    pinned = publish_example("hello", ns)
    digest = digest_of(pinned)
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        for reference in ("hello", "hello:1.0.0", f"hello@{digest}"):
            job_url = create(http, {"app": reference})
            info = job_info(job_document(http, job_url))
            assert info["image"] == pinned, reference
            assert (info["app"], info["appVersion"]) == ("hello", "1.0.0"), reference

        unknown = post_job(http, {"app": f"hello@{ZERO_DIGEST}"})
        assert unknown.status_code == 400, unknown.text
        assert unknown.headers["content-type"].startswith("text/plain")
        assert ZERO_DIGEST in unknown.text

        wrong = post_job(http, {"app": "hello:9.9"})
        assert wrong.status_code == 400, wrong.text
        assert "9.9" in wrong.text and "1.0.0" in wrong.text


# -- pulling by digest -------------------------------------------------------------------------

def test_pull_by_digest_when_engine_lacks_image(registry: LiveRegistry, make_service: Any,
                                                docker_client: Any,
                                                publish_copy: Callable[..., tuple[str, str]]
                                                ) -> None:
    from docker.errors import ImageNotFound

    ns = "t-pull"
    version = unique_version()
    pinned, image_id = publish_copy(ns, version)
    docker_client.images.remove(image_id, force=True)
    with pytest.raises(ImageNotFound):
        docker_client.images.get(image_id)
    with pytest.raises(ImageNotFound):
        docker_client.images.get(pinned)

    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        job_url = create(http, {"app": f"hello:{version}", "name": "pull", "delay": "3",
                                "PHASE": "RUN"})
        job_id = job_url.rstrip("/").rsplit("/", 1)[1]
        messages: list[str] = []
        container: Any = None
        deadline = time.monotonic() + 120
        while container is None:
            root = job_document(http, job_url)
            current = root.findtext(f"{UWS}phase")
            message = job_info(root).get("message")
            if current == "QUEUED" and message:
                messages.append(message)
            if current == "EXECUTING":
                found = docker_client.containers.list(
                    filters={"label": f"org.innerspace.job={job_id}"})
                container = found[0] if found else None
            assert current in ("QUEUED", "EXECUTING"), f"job ended {current} early"
            assert time.monotonic() < deadline, "the job never started executing"
            time.sleep(0.02)
        # The container was created from the digest-pinned reference, and that digest is
        # what the engine now holds.
        assert container.attrs["Config"]["Image"] == pinned
        local = docker_client.images.get(pinned)
        assert container.attrs["Image"] == local.id
        assert pinned in local.attrs["RepoDigests"]
        assert any("pull" in m for m in messages), (
            f"no pulling message was shown while QUEUED: {messages}")

        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert job_info(root)["image"] == pinned
        assert "message" not in job_info(root)
        assert result_text(http, job_url, "greeting.txt").strip() == "Hello, pull!"


# -- a tag moved after the job was created ----------------------------------------------------

def test_tag_moved_after_creation(registry: LiveRegistry, make_service: Any,
                                  publish_copy: Callable[..., tuple[str, str]]) -> None:
    ns = "t-tagmove"
    version = unique_version("0.5")
    variant_a, _ = publish_copy(ns, version, greeting="Hi")
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        pending = create(http, {"app": f"hello:{version}", "name": "A"})
        assert job_info(job_document(http, pending))["image"] == variant_a

        variant_b, _ = publish_copy(ns, version, greeting="Howdy")
        assert digest_of(variant_b) != digest_of(variant_a)
        refreshed = http.post("/apps/refresh")
        assert refreshed.status_code == 200, refreshed.text
        listed = [a for a in http.get("/apps").json()["apps"] if a["version"] == version]
        assert [a["image"] for a in listed] == [variant_b]

        started = http.post(f"{pending}/phase", data={"PHASE": "RUN"})
        assert started.status_code == 303, started.text
        root = wait_final(http, pending)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert job_info(root)["image"] == variant_a
        assert result_text(http, pending, "greeting.txt").strip() == "Hi, A!"

        fresh = create(http, {"app": f"hello:{version}", "name": "B", "PHASE": "RUN"})
        root = wait_final(http, fresh)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert job_info(root)["image"] == variant_b
        assert result_text(http, fresh, "greeting.txt").strip() == "Howdy, B!"
