"""The job page over HTTP (no browser): what it shows, owner isolation, the live event
stream, abort and delete (with and without the CSRF token), downloads and the zip."""

from __future__ import annotations

import io
import zipfile

from tests.support.portal import PortalService, parse_page
from tests.support.portal_jobs import csrf_of, finish, make_job, started

ALICE, BOB, ROOT = "alice-token", "bob-token", "root-token"


def test_the_page_of_a_finished_job(portal_auth: PortalService) -> None:
    with portal_auth.browser(Authorization=f"Bearer {ALICE}") as http:
        job_id = make_job(http, name="Vega <b>")
        finish(portal_auth, job_id, {"greeting.txt": "Hello", "data/t.json": '{"a": [1]}'},
               stdout="all <well>\n", stderr="a warning\n")
        page = http.get(f"/portal/jobs/{job_id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "COMPLETED" in text and "Vega &lt;b&gt;" in text and "<b>" not in text
    assert "all &lt;well&gt;" in text and "a warning" in text
    assert text.index(">app<") < text.index(">name<"), "the app first"
    for part in ("greeting.txt", "data/t.json"):
        assert f"/portal/jobs/{job_id}/download/{part}" in text
        assert f"/portal/jobs/{job_id}/preview/{part}" in text
    assert f"/portal/jobs/{job_id}/zip" in text
    assert f"/portal/apps/demo?version=1.0&amp;from={job_id}" in text
    assert "innerspace submit demo:1.0" in text and "-F PHASE=RUN" in text
    parsed = parse_page(text)
    assert not [a for tag, a in parsed.elements if tag == "script" and "src" not in a]


def test_only_the_owner_and_administrators_see_a_job(portal_auth: PortalService) -> None:
    with portal_auth.client(ALICE) as alice, portal_auth.client(BOB) as bob, \
            portal_auth.client(ROOT) as root:
        job_id = make_job(alice)
        finish(portal_auth, job_id, {"out.txt": "x"})
        for child in ("", "/events", "/preview/out.txt", "/download/out.txt", "/zip"):
            assert bob.get(f"/portal/jobs/{job_id}{child}").status_code == 404, child
            assert alice.get(f"/portal/jobs/{job_id}{child}").status_code == 200, child
            assert root.get(f"/portal/jobs/{job_id}{child}").status_code == 200, child
        assert job_id not in bob.get("/portal/jobs").text
        assert job_id in alice.get("/portal/jobs").text
    with portal_auth.browser() as anonymous:
        assert anonymous.get(f"/portal/jobs/{job_id}").status_code == 401


def test_the_event_stream_follows_the_job_to_its_end(portal_auth: PortalService) -> None:
    with portal_auth.client(ALICE) as http:
        job_id = make_job(http)
        started(portal_auth, job_id)
        phases: list[str] = []
        with http.stream("GET", f"/portal/jobs/{job_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = stream.iter_lines()
            for line in events:
                if line.startswith("data: {") and '"phase"' in line:
                    phases.append(line.split('"phase":"')[1].split('"')[0])
                    if len(phases) == 1:
                        finish(portal_auth, job_id, {"r.txt": "done"})
                if line == "event: end":
                    break
        assert phases[0] in ("QUEUED", "EXECUTING") and phases[-1] == "COMPLETED", phases


def test_abort_and_delete_need_the_csrf_token(portal_auth: PortalService) -> None:
    with portal_auth.client(ALICE) as api, \
            portal_auth.browser(Authorization=f"Bearer {ALICE}") as http:
        job_id = make_job(api)
        started(portal_auth, job_id)
        token = csrf_of(http.get(f"/portal/jobs/{job_id}").text)
        refused = http.post(f"/portal/jobs/{job_id}/abort", data={})
        assert refused.status_code == 403 and "csrf_token" in refused.text
        assert api.get(f"/jobs/{job_id}/phase").text == "EXECUTING"
        aborted = http.post(f"/portal/jobs/{job_id}/abort", data={"csrf_token": token})
        assert aborted.status_code == 303
        assert api.get(f"/jobs/{job_id}/phase").text == "ABORTED"
        assert http.post(f"/portal/jobs/{job_id}/delete", data={}).status_code == 403
        deleted = http.post(f"/portal/jobs/{job_id}/delete", data={"csrf_token": token})
        assert (deleted.status_code, deleted.headers["location"]) == (303, "/portal/jobs")
        assert api.get(f"/jobs/{job_id}").status_code == 404


def test_an_administrator_aborts_someone_elses_job(portal_auth: PortalService) -> None:
    with portal_auth.client(ALICE) as alice, \
            portal_auth.browser(Authorization=f"Bearer {ROOT}") as root:
        job_id = make_job(alice)
        started(portal_auth, job_id)
        token = csrf_of(root.get(f"/portal/jobs/{job_id}").text)
        assert root.post(f"/portal/jobs/{job_id}/abort",
                         data={"csrf_token": token}).status_code == 303
        assert alice.get(f"/jobs/{job_id}/phase").text == "ABORTED"


def test_downloads_and_the_zip_of_all_results(portal_auth: PortalService) -> None:
    results = {"a.txt": "alpha", "sub/b.csv": "x,y\n1,2\n", "page.html": "<script>1</script>"}
    with portal_auth.client(ALICE) as http:
        job_id = make_job(http)
        finish(portal_auth, job_id, results, stdout="out\n")
        one = http.get(f"/portal/jobs/{job_id}/download/sub/b.csv")
        assert one.text == "x,y\n1,2\n"
        assert one.headers["x-content-type-options"] == "nosniff"
        html = http.get(f"/portal/jobs/{job_id}/download/page.html")
        assert html.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in html.headers["content-security-policy"]
        assert http.get(f"/portal/jobs/{job_id}/download/../jobs.db").status_code == 404
        bundle = http.get(f"/portal/jobs/{job_id}/zip")
    assert bundle.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        names = set(archive.namelist())
        assert names == {*results, "stdout.txt", "stderr.txt"}
        assert {name: archive.read(name).decode() for name in results} == results


def test_re_run_opens_the_form_with_the_jobs_values(portal_auth: PortalService) -> None:
    with portal_auth.browser(Authorization=f"Bearer {ALICE}") as http, \
            portal_auth.client(BOB) as bob:
        job_id = make_job(http, name="Deneb", colour="red")
        form = http.get("/portal/apps/demo", params={"version": "1.0", "from": job_id})
        assert form.status_code == 200
        assert 'value="Deneb"' in form.text and '<option value="red" selected>' in form.text
        assert bob.get("/portal/apps/demo", params={"from": job_id}).status_code == 404
        assert http.get("/portal/apps/hello", params={"from": job_id}).status_code == 404
