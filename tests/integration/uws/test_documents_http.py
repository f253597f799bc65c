"""What a generic UWS client reads, over HTTP, against the whole web service on the fake
engine (no Docker): every instant of a job reads the same in the job document, the job list
and the text resources, over many random instants and the half-millisecond boundary; and a
job is created again from its parameter list alone (`app` included), read as pyvo reads it.
The same on real engines: tests/integration/uws/conformance/test_job.py."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.fake_service import FakeEngineService

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"


@pytest.fixture
def http(tmp_path: Path) -> Iterator[httpx.Client]:
    with FakeEngineService(tmp_path) as service, service.client() as client:
        yield client


def create(http: httpx.Client, fields: dict[str, str] | list[tuple[str, str]]) -> str:
    """POST a form (its fields in the order given) to /jobs; the new job's URL."""
    created = http.post("/jobs", content=urlencode(fields), headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert created.status_code == 303, created.text
    return created.headers["location"]


def document(http: httpx.Client, url: str, schemas: Any) -> Any:
    answer = http.get(url)
    assert answer.status_code == 200, answer.text
    return schemas.validate(answer.content)


def destinations(count: int) -> list[str]:
    """DESTRUCTION values a client may send: random instants of the next week with
    microseconds, and instants exactly on a half millisecond (.xxx5)."""
    rng = random.Random(13)
    start = datetime.now(UTC) + timedelta(hours=1)
    found = []
    for _ in range(count):
        moment = start + timedelta(seconds=rng.uniform(0, 6 * 86400))
        found.append(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        found.append(moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(1000):03d}5Z")
    return found


def test_every_instant_reads_the_same_in_every_resource(http: httpx.Client,
                                                        xml_schemas: Any) -> None:
    url = create(http, {"app": "demo"})
    job_id = url.rsplit("/", 1)[1]
    shown: list[tuple[str, str, str]] = []
    # The destruction the server chose itself (creation + default, from the clock) first;
    # then 100 sent ones through the whole stack (tests/unit/uws/test_documents.py checks
    # many more through the functions that write them).
    for sent in [None, *destinations(50)]:
        if sent is not None:
            assert http.post(f"{url}/destruction", data={"DESTRUCTION": sent}
                             ).status_code == 303
        text = http.get(f"{url}/destruction").text
        in_job = document(http, url, xml_schemas).findtext(f"{UWS}destruction")
        if text != in_job:
            shown.append((str(sent), text, in_job))
    assert not shown, "sent -> /destruction, job document:\n" + "\n".join(
        " -> ".join(row) for row in shown)

    created = document(http, url, xml_schemas).findtext(f"{UWS}creationTime")
    listed = document(http, "/jobs", xml_schemas)
    assert listed.findtext(f"{UWS}jobref[@id='{job_id}']/{UWS}creationTime") == created
    quote = http.get(f"{url}/quote").text
    assert quote.endswith("Z") and len(quote) == len(created) == 24, (quote, created)


def test_a_job_is_created_again_from_its_parameter_list(http: httpx.Client,
                                                        xml_schemas: Any) -> None:
    from pyvo.io.uws import parse_job

    original = create(http, {"app": "demo", "name": "Ada", "count": "3"})
    first = http.get(f"{original}/parameters")
    assert first.status_code == 200
    xml_schemas.validate(first.content)
    # A generic client: pyvo reads the job, and every parameter goes back as it was.
    job = parse_job(io.BytesIO(http.get(original).content), pedantic=True)
    listed = [(p.id_, p.content) for p in job.parameters]
    assert listed == [("app", "demo:1.0"), ("name", "Ada"), ("count", "3")]
    again = create(http, listed)
    assert http.get(f"{again}/parameters").content == first.content
    assert again != original

    # Sent back whole to change one value, the list keeps its app; another app is refused.
    changed = dict(listed, name="Grace")
    assert http.post(f"{again}/parameters", data=changed).status_code == 303
    assert parse_job(io.BytesIO(http.get(again).content)).parameters[1].content == "Grace"
    refused = http.post(f"{again}/parameters", data={"app": "demo:2.0"})
    assert refused.status_code == 400
    assert "cannot be changed" in refused.text and "demo:1.0" in refused.text
