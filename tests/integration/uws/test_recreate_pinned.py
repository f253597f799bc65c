"""A job of an app from the repository lists its `app` pinned by digest (`name@sha256:...`),
so that the job created again from its parameter list runs exactly the same image, even
when it was asked for by name only. Against a real engine and OCI registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from tests.support.oci_registry import LiveRegistry
from tests.support.repository import digest_of, job_document, job_info
from tests.support.uwsutil import UWS, create, wait_final


def parameter_list(http: Any, job_url: str, xml_schemas: Any) -> list[tuple[str, str]]:
    answer = http.get(f"{job_url}/parameters")
    assert answer.status_code == 200, answer.text
    root = xml_schemas.validate(answer.content)
    return [(p.get("id"), p.text) for p in root.iter(f"{UWS}parameter")]


def test_a_repository_job_is_created_again_with_the_same_image(
        registry: LiveRegistry, make_service: Any, xml_schemas: Any,
        publish_example: Callable[[str, str], str]) -> None:
    ns = "t-recreate"
    pinned = publish_example("hello", ns)
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        first = create(http, {"app": "hello", "name": "Pinned", "PHASE": "RUN"})
        listed = parameter_list(http, first, xml_schemas)
        assert listed == [("app", f"hello@{digest_of(pinned)}"), ("name", "Pinned")]
        again = create(http, {**dict(listed), "PHASE": "RUN"})
        assert parameter_list(http, again, xml_schemas) == listed
        for job_url in (first, again):
            assert job_info(job_document(http, job_url))["image"] == pinned
            assert wait_final(http, job_url).findtext(f"{UWS}phase") == "COMPLETED"
            greeting = http.get(f"{job_url}/results/greeting.txt")
            assert greeting.text == "Hello, Pinned!\n"
        document = etree.tostring(job_document(http, again))
        xml_schemas.validate(document)
