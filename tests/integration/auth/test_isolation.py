"""Owner isolation on every route, on a real service running real jobs: with two owners,
owner B can neither see nor change any of owner A's jobs (404 wherever UWS hides that a job
exists: the job, each child resource, results and result files, inputs, parameters, WAIT,
phase changes, abort, delete), nor find them in the job list under any filter or in /usage;
an administrator reads, lists, aborts and deletes them but changes nothing else (403).

The routes are enumerated from the application itself: a route that is neither walked here
nor listed as holding no owner's data fails the test, so a new route cannot be forgotten.
Walked twice: with development tokens (groups in the settings) and with tokens of the real
OpenID provider (groups in the JWT)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from tests.support.oidc_provider import OIDCProvider
from tests.support.services import LiveService
from tests.support.uwsutil import UWS, create, wait_final

ADMINS = "innerspace-admins"
# Routes holding no owner's data, and why they are not walked here.
NOT_OWNERS = {
    ("GET", "/capabilities"): "VOSI",
    ("GET", "/availability"): "VOSI",
    ("GET", "/apps"): "the catalogue (group filter: tests/unit/apps/test_access_routes.py)",
    ("GET", "/apps/{name}"): "the catalogue, as /apps",
    ("GET", "/schemas/app-manifest.json"): "a JSON Schema",
    ("GET", "/registry/oai"): "the public VO registry",
    ("POST", "/registry/oai"): "the public VO registry",
    ("GET", "/registry/tap/sync"): "RegTAP, public",
    ("POST", "/registry/tap/sync"): "RegTAP, public",
    ("GET", "/registry/tap/capabilities"): "RegTAP VOSI",
    ("GET", "/registry/tap/availability"): "RegTAP VOSI",
    ("GET", "/registry/tap/tables"): "RegTAP VOSI",
    ("GET", "/.well-known/oauth-protected-resource"): "RFC 9728 metadata",
    ("GET", "/openapi.json"): "the API description",
    ("GET", "/docs"): "the API description",
    ("GET", "/docs/oauth2-redirect"): "the API description",
    ("GET", "/redoc"): "the API description",
    ("GET", "/portal/static/{name}"): "the portal's styles and scripts",
    ("GET", "/portal/apps"): "the catalogue, as /apps",
    ("GET", "/portal/apps/{name}"): "the catalogue, as /apps",
    ("GET", "/portal/apps/{name}/check"): "the check of a value against a manifest",
    ("GET", "/portal/login"): "starts a login (tests/integration/portal/test_login.py)",
    ("GET", "/portal/callback"): "ends a login (tests/integration/portal/test_login.py)",
    ("GET", "/portal/federation"): "the registry's data centres and the planner, public",
    ("GET", "/portal/registry"): "the public VO registry, searched",
    ("GET", "/portal/registry/resource"): "the public VO registry, one resource",
}
TRIGGERS = {("POST", "/apps/refresh"), ("POST", "/registry/refresh"),
            ("POST", "/registry/harvest")}
SERVICE_WIDE = {("GET", "/metrics")}  # walked: must not name an owner or a job


def endpoints(routes: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path template) of every route, HEAD aside (it answers as GET), through
    included routers and mounts alike."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            yield from endpoints(route.original_router.routes,
                                 prefix + route.include_context.prefix)
        elif hasattr(route, "routes") and not hasattr(route, "methods"):  # a mount
            yield from endpoints(route.routes, prefix + getattr(route, "path", ""))
        else:
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                path = (prefix + route.path).replace(":path}", "}")
                yield method, path


class Walk:
    """Requests made as one caller, each recorded under its route template."""

    def __init__(self, service: LiveService, token: str, covered: set[tuple[str, str]]) -> None:
        self.http = service.client(token)
        self.covered = covered

    def __call__(self, method: str, template: str, url: str, expected: int,
                 **options: Any) -> httpx.Response:
        self.covered.add((method, template))
        response = self.http.request(method, url, **options)
        assert response.status_code == expected, (
            f"{method} {url}: {response.status_code} {response.text[:300]!r}, expected "
            f"{expected}")
        return response


def snapshot(http: httpx.Client, job: str) -> tuple[str, ...]:
    """What a change by someone else would alter."""
    return tuple(http.get(f"{job}/{part}").text
                 for part in ("phase", "executionduration", "destruction", "parameters"))


def walk_job(as_: Walk, jobs: dict[str, str], reads: int, changes: int, ends: int) -> None:
    """Every job route on A's jobs, as one caller: `reads` is the status of reading,
    `changes` of changing, `ends` of aborting and deleting."""
    done, pending = jobs["done"], jobs["pending"]
    for child in ("", "/phase", "/executionduration", "/destruction", "/error", "/quote",
                  "/owner", "/parameters", "/results"):
        as_("GET", f"/jobs/{{job_id}}{child}", f"{done}{child}", reads)
    as_("GET", "/jobs/{job_id}", done, reads, params={"WAIT": "1"})
    as_("GET", "/jobs/{job_id}", pending, reads, params={"WAIT": "1", "PHASE": "PENDING"})
    for result in ("greeting.txt", "stdout", "stderr"):
        as_("GET", "/jobs/{job_id}/results/{result_id}", f"{done}/results/{result}", reads)
    as_("GET", "/jobs/{job_id}/inputs/{name}", f"{pending}/inputs/image", reads)
    as_("POST", "/jobs/{job_id}/phase", f"{pending}/phase", changes, data={"PHASE": "RUN"})
    as_("POST", "/jobs/{job_id}", pending, changes, data={"PHASE": "RUN"})
    as_("POST", "/jobs/{job_id}/executionduration", f"{pending}/executionduration", changes,
        data={"EXECUTIONDURATION": "5"})
    as_("POST", "/jobs/{job_id}/destruction", f"{pending}/destruction", changes,
        data={"DESTRUCTION": "2999-01-01T00:00:00Z"})
    as_("POST", "/jobs/{job_id}/parameters", f"{pending}/parameters", changes,
        data={"stretch": "log"})
    as_("POST", "/jobs/{job_id}/phase", f"{jobs['abort1']}/phase", ends,
        data={"PHASE": "ABORT"})
    as_("POST", "/jobs/{job_id}", jobs["abort2"], ends, data={"PHASE": "ABORT"})
    as_("DELETE", "/jobs/{job_id}", jobs["delete1"], ends)
    as_("POST", "/jobs/{job_id}", jobs["delete2"], ends, data={"ACTION": "DELETE"})


def csrf_of(page: httpx.Response) -> dict[str, str]:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, f"no CSRF token in {page.url}"
    return {"csrf_token": token.group(1)}


def walk_operators(alice: Walk, root: Walk) -> None:
    """The operators' page and its buttons are an administrator's; logging out is anyone's."""
    form = csrf_of(alice.http.get("/portal"))
    alice("GET", "/portal/operators", "/portal/operators", 403)
    for button in ("refresh-catalogue", "harvest"):
        path = f"/portal/operators/{button}"
        alice("POST", path, path, 403, data=form)
    page = root("GET", "/portal/operators", "/portal/operators", 200)
    for button in ("refresh-catalogue", "harvest"):
        path = f"/portal/operators/{button}"
        root("POST", path, path, 303, data=csrf_of(page))
    alice("POST", "/portal/logout", "/portal/logout", 303, data=form)


def walk_portal(alice: Walk, bob: Walk, ids: set[str]) -> None:
    """The portal: A's home page (and `/` in a browser) lists her jobs, B's none of them;
    a Run from B's browser makes a job of B's, which A cannot see."""
    for path in ("/portal", "/"):
        mine = alice("GET", path, path, 200, headers={"Accept": "text/html"}).text
        assert any(f"/portal/jobs/{job_id}" in mine for job_id in ids), path
        assert not any(job_id in bob("GET", path, path, 200,
                                     headers={"Accept": "text/html"}).text for job_id in ids)
    form = bob.http.get("/portal/apps/hello").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "the form's CSRF token"
    made = bob("POST", "/portal/apps/{name}/run", "/portal/apps/hello/run", 303,
               data={"csrf_token": token.group(1)})
    job_id = made.headers["location"].rsplit("/", 1)[-1]
    assert bob.http.get(f"/jobs/{job_id}/owner").text == "bob"
    assert alice.http.get(f"/jobs/{job_id}").status_code == 404
    bob("GET", "/portal/jobs/{job_id}", f"/portal/jobs/{job_id}", 200)
    alice("GET", "/portal/jobs/{job_id}", f"/portal/jobs/{job_id}", 404)
    walk_portal_jobs(alice, bob, job_id)


def walk_portal_jobs(alice: Walk, bob: Walk, job_id: str) -> None:
    """The job pages of B's job: his alone; A's reads and actions on it (with her own CSRF
    token) are 404s, and her jobs list and bulk delete do not reach it."""
    assert wait_final(bob.http, f"/jobs/{job_id}").findtext(f"{UWS}phase") == "COMPLETED"
    job = f"/portal/jobs/{job_id}"
    for child, template in (("/events", "/events"),
                            ("/preview/greeting.txt", "/preview/{result_id}"),
                            ("/download/greeting.txt", "/download/{result_id}"),
                            ("/zip", "/zip")):
        bob("GET", f"/portal/jobs/{{job_id}}{template}", f"{job}{child}", 200)
        alice("GET", f"/portal/jobs/{{job_id}}{template}", f"{job}{child}", 404)
    assert job_id in bob("GET", "/portal/jobs", "/portal/jobs", 200).text
    mine = alice("GET", "/portal/jobs", "/portal/jobs", 200).text
    assert job_id not in mine
    token = re.search(r'name="csrf_token" value="([^"]+)"', mine)
    assert token, "the list's CSRF token"
    form = {"csrf_token": token.group(1)}
    alice("POST", "/portal/jobs/{job_id}/abort", f"{job}/abort", 404, data=form)
    alice("POST", "/portal/jobs/{job_id}/delete", f"{job}/delete", 404, data=form)
    alice("POST", "/portal/jobs", "/portal/jobs", 200, data={**form, "job": job_id})
    assert bob.http.get(f"/jobs/{job_id}/phase").text == "COMPLETED", "untouched"


TAP = "/registry/tap/async"
TAP_QUERY = {"LANG": "ADQL", "QUERY": "SELECT ivoid FROM rr.resource"}


def tap_jobs(http: httpx.Client) -> dict[str, str]:
    """A's asynchronous RegTAP queries: one done, one failed, the rest pending."""
    def create_tap(**more: str) -> str:
        response = http.post(TAP, data={**TAP_QUERY, **more})
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    jobs = {"done": create_tap(PHASE="RUN"), "failed": create_tap(PHASE="RUN", QUERY="DUFF")}
    for name in ("pending", "abort1", "abort2", "delete1", "delete2"):
        jobs[name] = create_tap()
    assert wait_final(http, jobs["done"]).findtext(f"{UWS}phase") == "COMPLETED"
    assert wait_final(http, jobs["failed"]).findtext(f"{UWS}phase") == "ERROR"
    return jobs


def walk_tap_jobs(as_: Walk, jobs: dict[str, str], reads: int, changes: int,
                  ends: int) -> None:
    """Every route of the RegTAP job list on A's queries, as `walk_job` for /jobs."""
    done, pending, job = jobs["done"], jobs["pending"], f"{TAP}/{{job_id}}"
    for child in ("", "/phase", "/executionduration", "/destruction", "/quote", "/owner",
                  "/parameters", "/results", "/results/result"):
        as_("GET", f"{job}{child}".replace("/results/result", "/results/{result_id}"),
            f"{done}{child}", reads)
    as_("GET", f"{job}/error", f"{jobs['failed']}/error", reads)
    as_("GET", job, pending, reads, params={"WAIT": "1", "PHASE": "PENDING"})
    as_("POST", f"{job}/phase", f"{pending}/phase", changes, data={"PHASE": "RUN"})
    as_("POST", job, pending, changes, data={"PHASE": "RUN"})
    as_("POST", f"{job}/executionduration", f"{pending}/executionduration", changes,
        data={"EXECUTIONDURATION": "5"})
    as_("POST", f"{job}/destruction", f"{pending}/destruction", changes,
        data={"DESTRUCTION": "2999-01-01T00:00:00Z"})
    as_("POST", f"{job}/parameters", f"{pending}/parameters", changes, data={"MAXREC": "1"})
    as_("POST", f"{job}/phase", f"{jobs['abort1']}/phase", ends, data={"PHASE": "ABORT"})
    as_("POST", job, jobs["abort2"], ends, data={"PHASE": "ABORT"})
    as_("DELETE", job, jobs["delete1"], ends)
    as_("POST", job, jobs["delete2"], ends, data={"ACTION": "DELETE"})


def walk_tap(alice: Walk, bob: Walk, root: Walk) -> None:
    """Owner isolation of the RegTAP service's asynchronous queries."""
    jobs = tap_jobs(alice.http)
    ids = {job.rsplit("/", 1)[-1] for job in jobs.values()}
    walk_tap_jobs(bob, jobs, reads=404, changes=404, ends=404)
    assert alice.http.get(f"{jobs['pending']}/phase").text == "PENDING"
    bobs = bob("POST", TAP, TAP, 303, data=TAP_QUERY).headers["location"]
    listing = bob("GET", TAP, TAP, 200)
    assert {str(r.get("id")) for r in etree.fromstring(listing.content).iter(
        f"{UWS}jobref")} == {bobs.rsplit("/", 1)[-1]}
    assert alice.http.get(bobs).status_code == 404, "and A none of B's"
    walk_tap_jobs(root, jobs, reads=200, changes=403, ends=303)
    assert alice.http.get(f"{jobs['abort1']}/phase").text == "ABORTED"
    assert alice.http.get(jobs["delete1"]).status_code == 404
    assert ids - {jobs[n].rsplit("/", 1)[-1] for n in ("delete1", "delete2")} == {
        str(r.get("id")) for r in etree.fromstring(alice.http.get(TAP).content).iter(
            f"{UWS}jobref")}


def listed(as_: Walk, params: dict[str, str] | None = None, expected: int = 200) -> set[str]:
    """The ids of the job list as the caller sees it with `params`."""
    response = as_("GET", "/jobs", "/jobs", expected, params=params)
    if expected != 200:
        return set()
    return {str(ref.get("id")) for ref in etree.fromstring(response.content).iter(
        f"{UWS}jobref")}


def walk(service: LiveService, tokens: dict[str, str], fits_file: Path) -> None:
    covered: set[tuple[str, str]] = set()
    alice, bob, root = (Walk(service, tokens[who], covered) for who in ("alice", "bob", "root"))
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    with fits_file.open("rb") as image:
        pending = create(alice.http, {"app": "fits-stats"}, files={"image": image})
    jobs = {"pending": pending, "done": create(alice.http, {"app": "hello", "PHASE": "RUN"})}
    for name in ("abort1", "abort2", "delete1", "delete2"):
        jobs[name] = create(alice.http, {"app": "hello", "name": name})
    assert wait_final(alice.http, jobs["done"]).findtext(f"{UWS}phase") == "COMPLETED"
    ids = {job.rsplit("/", 1)[-1] for job in jobs.values()}

    for child in ("", "/results/greeting.txt", "/inputs/image"):
        job = jobs["pending"] if child == "/inputs/image" else jobs["done"]
        assert alice.http.get(f"{job}{child}").status_code == 200, "A reads her own"
    before = {name: snapshot(alice.http, job) for name, job in jobs.items()}

    # -- B, a plain owner: nothing of A's exists for him -----------------------------------
    walk_job(bob, jobs, reads=404, changes=404, ends=404)
    assert {name: snapshot(alice.http, job) for name, job in jobs.items()} == before
    for params in ({}, {"PHASE": "COMPLETED"}, {"PHASE": "PENDING"}, {"AFTER": since},
                   {"LAST": "10"}, {"PHASE": "PENDING", "AFTER": since, "LAST": "3"}):
        assert listed(bob, params).isdisjoint(ids), params
    listed(bob, {"OWNER": "alice"}, 403)
    listed(bob, {"OWNER": "*"}, 403)
    bobs = bob("POST", "/jobs", "/jobs", 303, data={"app": "hello"}).headers["location"]
    assert bob.http.get(f"{bobs}/owner").text == "bob"
    assert alice.http.get(bobs).status_code == 404, "and A none of B's"
    assert listed(alice) == ids and listed(bob) == {bobs.rsplit("/", 1)[-1]}
    usage = bob("GET", "/usage", "/usage", 200).json()
    assert (usage["owner"], usage["jobs"]) == ("bob", {"PENDING": 1})
    bob("GET", "/usage", "/usage", 403, params={"owner": "alice"})
    for method, path in sorted(TRIGGERS):
        bob(method, path, path, 403)
    metrics = bob("GET", "/metrics", "/metrics", 200).text  # a loopback scraper may read it
    assert "alice" not in metrics and not any(job_id in metrics for job_id in ids)

    # -- an administrator: reads, lists, aborts and deletes; changes nothing else ------------
    walk_job(root, jobs, reads=200, changes=403, ends=303)
    assert root.http.get(f"{jobs['done']}/owner").text == "alice"
    assert snapshot(alice.http, jobs["pending"]) == before["pending"]
    for name in ("abort1", "abort2"):
        assert alice.http.get(f"{jobs[name]}/phase").text == "ABORTED"
    for name in ("delete1", "delete2"):
        assert alice.http.get(jobs[name]).status_code == 404
    remaining = ids - {jobs[n].rsplit("/", 1)[-1] for n in ("delete1", "delete2")}
    assert listed(root) == set(), "by default an administrator lists their own jobs"
    assert listed(root, {"OWNER": "alice"}) == remaining
    assert listed(root, {"OWNER": "*"}) == remaining | {bobs.rsplit("/", 1)[-1]}
    assert listed(root, {"OWNER": "*", "PHASE": "COMPLETED"}) == {jobs["done"].rsplit("/", 1)[-1]}
    alices = root("GET", "/usage", "/usage", 200, params={"owner": "alice"}).json()
    assert (alices["owner"], sum(alices["jobs"].values())) == ("alice", len(remaining))
    for method, path in sorted(TRIGGERS):
        root(method, path, path, 200)

    walk_tap(alice, bob, root)
    walk_portal(alice, bob, remaining)
    walk_operators(alice, root)
    app_routes = set(endpoints(_app_routes(service)))
    unwalked = app_routes - covered - set(NOT_OWNERS)
    assert unwalked == set(), f"routes not walked for owner isolation: {sorted(unwalked)}"
    assert covered <= app_routes, f"walked routes the service lacks: {covered - app_routes}"


def _app_routes(service: LiveService) -> Any:
    from innerspace.server import create_app

    return create_app(service.settings).routes


def test_every_route_with_development_tokens(make_service: Any, fits_file: Path) -> None:
    tokens = {"alice": "alice-dev-token", "bob": "bob-dev-token", "root": "root-dev-token"}
    service = make_service(auth={
        "tokens": {tokens["alice"]: "alice", tokens["bob"]: {"owner": "bob"},
                   tokens["root"]: {"owner": "root", "groups": [ADMINS]}},
        "admin_groups": [ADMINS]})
    walk(service, tokens, fits_file)


def test_every_route_with_openid_tokens(make_service: Any, oidc_provider: OIDCProvider,
                                        fits_file: Path) -> None:
    service = make_service(auth={"issuer": oidc_provider.issuer, "audience": ["innerspace"],
                                 "admin_groups": [ADMINS]})
    passwords = {name: user.password for name, user in oidc_provider.users.items()}
    tokens = {who: oidc_provider.device_login(who, passwords[who])["access_token"]
              for who in ("alice", "bob", "root")}
    walk(service, tokens, fits_file)
