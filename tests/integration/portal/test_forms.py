"""The form of an app, generated from its manifest, and Run over HTTP (no browser): one
field per kind of parameter, CSRF, a bad value told at its field with the UWS API's own
message, and a Run that creates the job the UWS API lists."""

from __future__ import annotations

import re
from typing import Any

import httpx
from markupsafe import escape

from tests.support.portal import PortalService, element, parse_page


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


def form_page(http: httpx.Client, name: str, **params: str) -> tuple[str, str]:
    page = http.get(f"/portal/apps/{name}", params=params)
    assert page.status_code == 200, page.text
    return page.text, csrf_of(page.text)


def test_one_field_per_kind_of_parameter(portal: PortalService) -> None:
    with portal.browser() as http:
        page = parse_page(form_page(http, "demo", version="1.0")[0])
    form = element(page, "form", class_="app-form")
    assert (form["method"], form["enctype"]) == ("post", "multipart/form-data")
    count = element(page, "input", name="count")
    assert (count["type"], count["min"], count["max"], count["step"]) == ("number", "1",
                                                                          "10", "1")
    assert "required" in count and count["aria-describedby"] == "p-count-help"
    assert element(page, "label", for_="p-count")
    ratio = element(page, "input", name="ratio")
    assert (ratio["type"], ratio["step"], ratio["value"]) == ("number", "any", "0.5")
    assert element(page, "input", name="name")["value"] == "World"
    loud = element(page, "input", name="loud")
    assert loud["type"] == "checkbox" and "checked" in loud
    assert element(page, "select", name="colour")
    assert element(page, "option", value="green")["selected"] == ""
    assert element(page, "input", name="source")["type"] == "url"
    assert element(page, "input", name="version", type="hidden")["value"] == "1.0"
    assert "[deg]" in "".join(page.text), "units shown"
    assert "How many times." in "".join(page.text), "help text"


def test_the_example_apps_forms(portal: PortalService) -> None:
    with portal.browser() as http:
        fits = parse_page(form_page(http, "fits-stats")[0])
        xmatch = parse_page(form_page(http, "xmatch")[0])
    image = element(fits, "input", name="image")
    assert image["type"] == "file" and "required" in image
    assert element(fits, "option", value="asinh")["selected"] == ""
    assert element(xmatch, "input", name="radius")["max"] == "3600"
    assert "checked" not in element(xmatch, "input", name="keep_unmatched")
    text = "".join(xmatch.text)
    assert "matches.vot" in text and "2 cores" not in text
    assert "are required." in text  # xmatch has required fields; hello has none
    with portal.browser() as http:
        assert "are required." not in "".join(parse_page(form_page(http, "hello")[0]).text)


def test_versions_are_offered(portal: PortalService) -> None:
    with portal.browser() as http:
        newest, _ = form_page(http, "demo")
        older, _ = form_page(http, "demo", version="1.0")
    assert 'name="version" value="2.0"' in newest and "The demo, improved." in newest
    assert 'name="version" value="1.0"' in older
    assert element(parse_page(newest), "option", value="1.0")


def values(parameters: str) -> dict[str, str]:
    """A UWS parameters document's values by parameter."""
    return dict(re.findall(r'id="([^"]+)"[^>]*>([^<]*)<', parameters))


def run(http: httpx.Client, name: str, token: str | None, fields: dict[str, str],
        files: dict[str, Any] | None = None) -> httpx.Response:
    data = {**fields, **({"csrf_token": token} if token is not None else {})}
    return http.post(f"/portal/apps/{name}/run", data=data, files=files or {"_": b""})


def test_csrf_is_required(portal: PortalService) -> None:
    with portal.browser() as http:
        _, token = form_page(http, "demo")
        for given in (None, "", token[:-2] + "xx"):
            refused = run(http, "demo", given, {"count": "3"})
            assert refused.status_code == 403, given
            assert "csrf_token" in refused.text
        with portal.browser() as other:  # another browser's token is not this one's
            assert run(other, "demo", token, {"count": "3"}).status_code == 403


def test_a_bad_value_is_told_at_its_field(portal: PortalService) -> None:
    with portal.browser() as http, portal.client() as api:
        _, token = form_page(http, "demo", version="1.0")
        page = run(http, "demo", token, {"version": "1.0", "count": "11", "name": "Ann",
                                         "ratio": "2"})
        uws = api.post("/jobs", data={"app": "demo:1.0", "count": "11"})
        uws_ratio = api.post("/jobs", data={"app": "demo:1.0", "count": "1", "ratio": "2"})
        check = http.get("/portal/apps/demo/check",
                         params={"field": "count", "value": "11", "version": "1.0"}).json()
        good = http.get("/portal/apps/demo/check", params={"field": "count", "value": "3"})
        missing = run(http, "demo", token, {"version": "1.0"})
    assert page.status_code == 400
    parsed = parse_page(page.text)
    count = element(parsed, "input", name="count")
    assert count["aria-invalid"] == "true" and count["value"] == "11"
    assert count["aria-describedby"] == "p-count-help p-count-error"
    message = uws.text.strip()
    assert uws.status_code == 400 and message.startswith("parameter 'count'")
    assert f'<p class="field-error" id="p-count-error">{escape(message)}</p>' in page.text
    assert escape(uws_ratio.text.strip()) in page.text
    assert element(parsed, "input", name="name")["value"] == "Ann", "values kept"
    assert check == {"field": "count", "message": message}
    assert good.json()["message"] is None
    assert missing.status_code == 400
    assert "missing required parameter for app demo: count" in missing.text


def test_run_creates_the_job_the_api_lists(portal: PortalService) -> None:
    with portal.browser() as http, portal.client() as api:
        _, token = form_page(http, "demo", version="1.0")
        made = run(http, "demo", token, {"version": "1.0", "count": "4", "name": "",
                                         "colour": "red"})
        assert made.status_code == 303, made.text
        job_id = made.headers["location"].removeprefix("/portal/jobs/")
        listed = api.get("/jobs").text
        parameters = api.get(f"/jobs/{job_id}/parameters").text
        phase = api.get(f"/jobs/{job_id}/phase").text
    assert job_id in listed
    # An unticked checkbox is false; an empty field is no value (the default applies).
    assert values(parameters) == {"app": "demo:1.0", "count": "4", "colour": "red",
                                  "loud": "false"}
    assert phase != "PENDING", "Run runs it"
    with portal.browser() as http:  # its page (the job's owner is anonymous here)
        assert job_id in http.get(made.headers["location"]).text


def test_a_file_is_uploaded_as_the_uws_api_takes_it(portal: PortalService) -> None:
    with portal.browser() as http, portal.client() as api:
        _, token = form_page(http, "fits-stats")
        missing = run(http, "fits-stats", token, {"stretch": "log"})
        made = run(http, "fits-stats", token, {"stretch": "log"},
                   files={"image": ("m31.fits", b"SIMPLE  =                    T")})
        assert made.status_code == 303, made.text
        job_id = made.headers["location"].rsplit("/", 1)[-1]
        parameters = api.get(f"/jobs/{job_id}/parameters").text
    assert missing.status_code == 400
    assert 'id="p-image-error">missing required parameter for app fits-stats: image' \
        in missing.text
    assert set(values(parameters)) == {"app", "image", "stretch"}
    assert 'byReference="true" id="image"' in parameters, "a file, by reference"


def test_running_needs_a_login_where_anonymous_callers_may_not(
        portal_auth: PortalService) -> None:
    with portal_auth.browser() as http:
        _, token = form_page(http, "demo")
        refused = run(http, "demo", token, {"count": "1"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("text/html")
    with portal_auth.client("bob-token") as bob:
        _, token = form_page(bob, "demo")
        made = run(bob, "demo", token, {"count": "1"})
        assert made.status_code == 303
        job = made.headers["location"].rsplit("/", 1)[-1]
        assert bob.get(f"/jobs/{job}/owner").text == "bob"
