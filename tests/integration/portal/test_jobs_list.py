"""The jobs list over HTTP (no browser): the caller's jobs only (every owner's for an
administrator who asks), filters by phase, app and date, keyset pages, bulk delete."""

from __future__ import annotations

import re
import time

from tests.support.portal import PortalService
from tests.support.portal_jobs import csrf_of, finish, make_job

ALICE, BOB, ROOT = "alice-token", "bob-token", "root-token"


def ids_in(page: str) -> list[str]:
    return re.findall(r'name="job" value="([a-z0-9]{16})"', page)


def test_filters_pages_and_the_administrators_view(portal_auth: PortalService) -> None:
    with portal_auth.client(BOB) as bob, portal_auth.client(ROOT) as root:
        pending = [bob.post("/jobs", data={"app": "demo:1.0", "count": "1"}).headers[
            "location"].rsplit("/", 1)[-1] for _ in range(53)]
        done = make_job(bob, "hello")
        finish(portal_auth, done)
        first = bob.get("/portal/jobs")
        assert first.status_code == 200
        shown = ids_in(first.text)
        assert shown == [done, *reversed(pending)][:50], "newest first, 50 a page"
        older = re.search(r'<a rel="next" href="([^"]+)"', first.text)
        assert older, "a link to the older jobs"
        second = bob.get(older.group(1).replace("&amp;", "&"))
        assert ids_in(second.text) == list(reversed(pending))[49:]
        assert ids_in(bob.get("/portal/jobs", params={"phase": "COMPLETED"}).text) == [done]
        assert ids_in(bob.get("/portal/jobs", params={"app": "hello"}).text) == [done]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        assert len(ids_in(bob.get("/portal/jobs", params={"from": today}).text)) == 50
        assert ids_in(bob.get("/portal/jobs", params={"to": "2000-01-01"}).text) == []
        assert bob.get("/portal/jobs", params={"from": "yesterday"}).status_code == 400
        assert bob.get("/portal/jobs", params={"phase": "NOPE"}).status_code == 400
        assert bob.get("/portal/jobs", params={"all": "1"}).status_code == 403
        assert ids_in(root.get("/portal/jobs").text) == []
        everyone = root.get("/portal/jobs", params={"all": "1", "app": "hello"}).text
        assert done in ids_in(everyone) and "bob" in everyone


def test_bulk_delete_reports_each_job(portal_auth: PortalService) -> None:
    with portal_auth.client(ALICE) as alice, \
            portal_auth.browser(Authorization=f"Bearer {BOB}") as bob:
        mine = [bob.post("/jobs", data={"app": "demo:1.0", "count": "1"}).headers[
            "location"].rsplit("/", 1)[-1] for _ in range(3)]
        hers = alice.post("/jobs", data={"app": "demo:1.0", "count": "1"}).headers[
            "location"].rsplit("/", 1)[-1]
        token = csrf_of(bob.get("/portal/jobs").text)
        chosen = [*mine[:2], hers]
        assert bob.post("/portal/jobs", data={"job": chosen}).status_code == 403, "no token"
        assert bob.get(f"/jobs/{mine[0]}").status_code == 200
        answer = bob.post("/portal/jobs", data={"csrf_token": token, "job": chosen})
        assert answer.status_code == 200
        assert "2 of 3 deleted" in answer.text and hers in answer.text
        assert [bob.get(f"/jobs/{j}").status_code for j in mine] == [404, 404, 200]
        assert alice.get(f"/jobs/{hers}").status_code == 200, "not someone else's"
