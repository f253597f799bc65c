"""UWS 1.1 conformance: with tokens, an owner is required and sees only their own jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.services import LiveService
from tests.support.uwsclient import (
    UWSClient,
    job_id_of,
    media_type,
    plain_text,
)

# -- identity --------------------------------------------------------------------------------

TOKENS = {"t1": "alice", "t2": "bob"}


def test_tokens_are_required(make_service: Callable[..., LiveService],
                             xml_schemas: Any) -> None:
    live = make_service(tokens=TOKENS)
    for token in (None, "not-a-token"):
        with UWSClient(live, xml_schemas, token) as client:
            for response in (client.get("/jobs"),
                             client.post("/jobs", {"app": "hello"})):
                assert response.status_code == 401, (token, response.status_code)
                assert media_type(response) == "text/plain"
                assert response.headers.get("www-authenticate", "").lower().startswith(
                    "bearer")
    with UWSClient(live, xml_schemas, "t1") as alice:
        assert alice.job_list() == []  # the refused POSTs created nothing
    assert list((live.data_dir / "jobs").iterdir()) == []


def test_owners_see_only_their_jobs(make_service: Callable[..., LiveService],
                                    xml_schemas: Any) -> None:
    live = make_service(tokens=TOKENS)
    with UWSClient(live, xml_schemas, "t1") as alice, \
            UWSClient(live, xml_schemas, "t2") as bob:
        url = alice.create(app="hello", name="private")
        doc = alice.job(url)
        assert doc.text("ownerId") == "alice"
        assert plain_text(alice, f"{url}/owner").strip() == "alice"
        refs = {r.id: r for r in alice.job_list()}
        assert refs[doc.job_id].owner == "alice"

        bobs = bob.create(app="hello")
        assert bob.job(bobs).text("ownerId") == "bob"
        assert doc.job_id not in {r.id for r in bob.job_list()}
        assert job_id_of(bobs) not in {r.id for r in alice.job_list()}
        assert alice.get(bobs).status_code == 404
        for path in ("", "/phase", "/parameters", "/results", "/owner"):
            assert bob.get(f"{url}{path}").status_code == 404, path
        assert bob.post(f"{url}/phase", {"PHASE": "RUN"}).status_code == 404
        assert bob.delete(url).status_code == 404
        assert alice.phase(url) == "PENDING"  # bob changed nothing
