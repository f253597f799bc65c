"""The UWS documents (uws/xml.py): one rounding of every instant, whichever document or text
resource shows it, and `app` among a job's parameters, valid against the UWS schema."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from innerspace.uws.phases import Phase
from innerspace.uws.request import parse_time
from innerspace.uws.store import Job, JobParameter, JobRef
from innerspace.uws.xml import (
    instant,
    iso,
    job_document,
    job_list_document,
    parameters_document,
)

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
TIMES = ("quote", "creationTime", "startTime", "endTime", "destruction")
LOCAL_IMAGE = "sha256:" + "1" * 64
PINNED = "127.0.0.1:5000/innerspace/hello@sha256:" + "2" * 64


def job(moment: float, image: str = LOCAL_IMAGE, **changes: Any) -> Job:
    """A job every one of whose times is `moment`."""
    fields: dict[str, Any] = dict(
        id="abcdefghijklmnop", owner=None, phase=Phase.EXECUTING, app="hello",
        app_version="1.0.0", image=image, manifest={}, creation_time=moment,
        execution_duration=60, destruction=moment, start_time=moment, end_time=moment,
        parameters=(JobParameter("name", "Ada"),))
    return Job(**{**fields, **changes})


def instants(count: int, seed: int) -> list[float]:
    """Random instants between 1970 and 2100, at microsecond precision as the clock gives
    them, and as many exactly on a half millisecond (the rounding boundary) as a float can."""
    rng = random.Random(seed)
    found = [rng.uniform(0, 4.1e9) for _ in range(count)]
    found += [rng.randrange(0, 4_100_000_000_000) / 1000 + 0.0005 for _ in range(count)]
    found += [rng.randrange(0, 4_100_000_000) + 0.9995 for _ in range(count // 10)]
    return found


def test_every_instant_of_a_job_reads_the_same_everywhere(xml_schemas: Any) -> None:
    for moment in instants(300, seed=13):
        text = iso(moment)
        root = xml_schemas.validate(job_document(job(moment), "http://x/jobs/a", moment))
        shown = {name: root.findtext(f"{UWS}{name}") for name in TIMES}
        assert shown == dict.fromkeys(TIMES, text), (moment, shown, text)
        listed = xml_schemas.validate(job_list_document(
            [JobRef("abcdefghijklmnop", Phase.PENDING, None, None, moment)], "http://x/jobs"))
        assert listed.findtext(f"{UWS}jobref/{UWS}creationTime") == text, moment


def test_instants_round_to_the_nearest_millisecond_and_read_back() -> None:
    assert iso(1767225619.4954) == "2026-01-01T00:00:19.495Z"
    assert iso(1767225619.4956) == "2026-01-01T00:00:19.496Z"
    assert iso(1767225619.9996) == "2026-01-01T00:00:20.000Z"  # carries into the second
    assert iso(None) == ""
    for moment in instants(300, seed=7):
        text = iso(moment)
        assert abs(instant(moment).timestamp() - moment) <= 0.0005 + 1e-6, moment
        # What a client reads back is that very instant, and it formats to the same text.
        assert iso(parse_time(text)) == text, (moment, text)
        assert instant(parse_time(text)) == datetime.fromisoformat(text), text
        assert instant(moment).tzinfo is UTC


def test_app_is_the_first_parameter_pinned_as_the_job_was(xml_schemas: Any) -> None:
    local = job(1e9)
    pinned = job(1e9, image=PINNED)
    for stored, expected in ((local, "hello:1.0.0"), (pinned, f"hello@sha256:{'2' * 64}")):
        assert stored.app_reference == expected
        for document in (parameters_document(stored, "http://x/jobs/a"),
                         job_document(stored, "http://x/jobs/a", None)):
            root = xml_schemas.validate(document)
            listed = [(p.get("id"), p.text) for p in root.iter(f"{UWS}parameter")]
            assert listed == [("app", expected), ("name", "Ada")]
