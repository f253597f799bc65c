"""The portal's pages over HTTP (no browser): `/` negotiated between browsers and
protocol clients, the home page, the apps catalogue and its search, static files, the
session cookie, HTML error pages."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.portal import BROWSER_ACCEPT, PortalService, element, parse_page

CLIENT_ACCEPTS = ["", "*/*", "application/xml", "text/xml",
                  "application/json", "application/x-votable+xml, text/html;q=0.5",
                  "application/xml, text/html", "text/plain"]


def test_root_is_the_portal_for_a_browser_only(portal: PortalService) -> None:
    with portal.client() as http:
        before = http.get("/", headers={"Accept": "*/*"})
        for accept in CLIENT_ACCEPTS:
            answer = http.get("/", headers={"Accept": accept} if accept else {})
            assert (answer.status_code, answer.text) == (200, before.text), accept
            assert answer.headers["content-type"].startswith("text/plain")
            assert answer.headers["vary"] == "Accept"
        assert before.text.startswith("innerspace ") and "/jobs" in before.text
        for accept in (BROWSER_ACCEPT, "text/html", "text/html, application/xml",
                       "application/xml;q=0.8, text/html"):
            page = http.get("/", headers={"Accept": accept})
            assert page.status_code == 200, accept
            assert page.headers["content-type"].startswith("text/html"), accept
            assert page.headers["vary"] == "Accept"
            assert '<main id="main"' in page.text


def test_pages_carry_the_portal_policy(portal: PortalService) -> None:
    with portal.browser() as http:
        page = http.get("/portal")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    parsed = parse_page(page.text)
    assert not [a for tag, a in parsed.elements if tag == "script" and "src" not in a]
    assert not [a for tag, a in parsed.elements if "style" in a], "no inline styles"
    assert element(parsed, "a", class_="skip-link")["href"] == "#main"


def test_home_lists_the_apps_and_the_callers_jobs_only(portal_auth: PortalService) -> None:
    with portal_auth.client("alice-token") as alice, portal_auth.client("bob-token") as bob:
        mine = [alice.post("/jobs", data={"app": "demo:1.0", "count": "2",
                                          "RUNID": f"alice-{n}"}).headers["location"]
                for n in range(7)]
        bobs = bob.post("/jobs", data={"app": "demo", "count": "1"}).headers["location"]
        home = alice.get("/portal", headers={"Accept": BROWSER_ACCEPT}).text
        bob_home = bob.get("/portal").text
    ids = [url.rsplit("/", 1)[-1] for url in mine]
    assert [i for i in ids if f"/portal/jobs/{i}" in home] == ids[-5:], "the 5 newest"
    assert bobs.rsplit("/", 1)[-1] not in home
    assert not any(i in bob_home for i in ids)
    assert "Signed in as <strong>alice</strong>" in home
    for name in ("fits-stats", "xmatch", "demo", "secret"):
        assert f'href="/portal/apps/{name}"' in home, name
    assert 'href="/portal/apps/secret"' not in bob_home, "a group's app, to its members only"
    assert "Operators" not in home


def test_an_anonymous_visitor_where_tokens_are_needed(portal_auth: PortalService) -> None:
    with portal_auth.browser() as http:
        home = http.get("/portal")
        bad = http.get("/portal", headers={"Authorization": "Bearer wrong"})
    assert home.status_code == 200 and "secret" not in home.text
    assert "This service needs credentials to show jobs" in home.text
    assert bad.status_code == 401 and bad.headers["content-type"].startswith("text/html")


def test_the_admin_sees_the_operators_link(portal_auth: PortalService) -> None:
    with portal_auth.client("root-token") as root:
        assert 'href="/portal/operators"' in root.get("/portal").text


@pytest.mark.parametrize(("query", "expected"), [
    ("", {"demo", "fits-stats", "hello", "survey-summary", "xmatch"}),
    ("image STATISTICS", {"fits-stats"}), ("cross-identification", {"xmatch"}),
    ("improved", {"demo"}), ("catalogue match", {"xmatch"}), ("nothing-like-it", set()),
])
def test_apps_search(portal: PortalService, query: str, expected: set[str]) -> None:
    with portal.browser() as http:
        page = http.get("/portal/apps", params={"q": query})
    assert page.status_code == 200
    found = set(re.findall(r'<h3><a href="/portal/apps/([^"]+)">', page.text))
    assert found == expected
    assert f'value="{query}"' in page.text


def test_static_files_are_cached_and_fingerprinted(portal: PortalService) -> None:
    with portal.browser() as http:
        home = http.get("/portal").text
        links = re.findall(r'(?:href|src)="(/portal/static/[^"]+)"', home)
        assert {link.split("?")[0] for link in links} == {"/portal/static/portal.css",
                                                          "/portal/static/portal.js",
                                                          "/portal/static/favicon.svg"}
        for link in links:
            assert re.search(r"\?v=[\w.+-]+-[0-9a-f]{12}$", link), link
            answer = http.get(link)
            assert answer.status_code == 200
            assert "max-age=31536000" in answer.headers["cache-control"]
        plain = http.get("/portal/static/portal.css")  # as uws.xsl names it: no version
        assert plain.headers["content-type"].startswith("text/css")
        assert plain.headers["cache-control"] == "public, no-cache"
        for name in ("nope.css", "..%2Fpages_home.py", ".hidden.js", "templates"):
            assert http.get(f"/portal/static/{name}").status_code == 404, name


def test_the_session_cookie(portal: PortalService) -> None:
    with portal.browser() as http:
        first = http.get("/portal")
        again = http.get("/portal/apps")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("innerspace_session=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags, "plain http: a Secure cookie would never come back"
    assert "set-cookie" not in again.headers, "kept, not made again"
    assert len(cookie) < 4096


def test_the_session_cookie_is_secure_under_https(tmp_path: Path) -> None:
    from innerspace.portal import session

    with PortalService(tmp_path, public_url="https://portal.example.org") as service, \
            service.browser() as http:
        cookie = http.get("/portal").headers["set-cookie"]
        key = service.data_dir / session.KEY_FILE
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}
    assert key.stat().st_mode & 0o777 == 0o600, "the signing key, kept in data_dir"


def test_portal_errors_are_pages(portal: PortalService) -> None:
    with portal.browser() as http:
        for url in ("/portal/nowhere", "/portal/apps/no-such-app",
                    "/portal/apps/demo?" + urlencode({"version": "9.9"})):
            page = http.get(url)
            assert page.status_code == 404, url
            assert page.headers["content-type"].startswith("text/html"), url
            assert "<h1>404: not found</h1>" in page.text, url
            assert '<main id="main"' in page.text and "portal.css" in page.text
        assert http.post("/portal").status_code == 405
    with portal.client() as api:  # elsewhere, the protocols' own errors as before
        assert api.get("/jobs/nope").headers["content-type"].startswith("text/plain")
