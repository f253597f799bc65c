"""Results and uploads cannot act with the service's origin (issue 11, item 5): a hostile
app's HTML, SVG, XHTML, JavaScript, PDF and unknown files are served as attachments, passive
ones inline, every one with nosniff, a sandboxing Content-Security-Policy and a same-origin
resource policy; an uploaded page is an attachment too; HEAD answers every result as GET
does, without the body. Against a real service and engine."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.support.services import LiveService
from tests.support.uwsclient import JobDoc, UWSClient, xlink

PAGE = b"<!doctype html><script>fetch('/jobs')</script>"
WEIRD = 'na\u00efve "quoted";name.html'
# Each result the app writes: the type it is served with, and whether a browser may show it.
EXPECTED = {
    "page.html": ("text/html", "attachment"), "page.htm": ("text/html", "attachment"),
    "drawing.svg": ("image/svg+xml", "attachment"), "data.xml": ("application/xml", "attachment"),
    "page.xhtml": ("application/xhtml+xml", "attachment"),
    "code.js": ("text/javascript", "attachment"),
    "blob.bin": ("application/octet-stream", "attachment"),
    "noextension": ("application/octet-stream", "attachment"),
    "report.pdf": ("application/pdf", "attachment"), WEIRD: ("text/html", "attachment"),
    "notes.txt": ("text/plain", "inline"), "table.csv": ("text/csv", "inline"),
    "stats.json": ("application/json", "inline"), "image.png": ("image/png", "inline"),
}
PROTECTIVE = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox; default-src 'none'",
    "cross-origin-resource-policy": "same-origin",
}


@pytest.fixture(scope="module")
def hostile_job(web_service: LiveService, xml_schemas: Any) -> tuple[str, JobDoc]:
    with UWSClient(web_service, xml_schemas) as client:
        url, doc = client.run(app="hostile-results")
    assert doc.phase == "COMPLETED", doc.raw.decode()
    return url, doc


def media(response: httpx.Response) -> str:
    return str(response.headers["content-type"]).split(";", 1)[0]


def test_every_result_is_listed(hostile_job: tuple[str, JobDoc]) -> None:
    _, doc = hostile_job
    assert set(doc.results) == set(EXPECTED) | {"stdout", "stderr"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_results_cannot_act_in_the_services_origin(http: httpx.Client,
                                                   hostile_job: tuple[str, JobDoc],
                                                   name: str) -> None:
    url, doc = hostile_job
    href = doc.results[name].get(xlink("href"))
    assert href == f"{url}/results/{quote(name, safe='/')}"
    response = http.get(href)
    assert response.status_code == 200, response.text
    media_type, kind = EXPECTED[name]
    assert media(response) == media_type or (name == "code.js"
                                             and media(response) == "application/javascript")
    assert {k: response.headers[k] for k in PROTECTIVE} == PROTECTIVE
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f"{kind}; filename=")
    assert disposition.endswith(f"; filename*=UTF-8''{quote(name, safe='')}")
    assert response.headers.get_list("content-security-policy") == [PROTECTIVE[
        "content-security-policy"]]


def test_the_file_name_is_encoded_not_injected(http: httpx.Client,
                                               hostile_job: tuple[str, JobDoc]) -> None:
    url, _ = hostile_job
    response = http.get(f"{url}/results/{quote(WEIRD)}")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"na_ve _quoted__name.html\"; "
        "filename*=UTF-8''na%C3%AFve%20%22quoted%22%3Bname.html")
    assert response.content.startswith(b"<!doctype html>")


def test_head_answers_each_result_as_get_does(http: httpx.Client,
                                              hostile_job: tuple[str, JobDoc]) -> None:
    _, doc = hostile_job
    for name in [*EXPECTED, "stdout", "stderr"]:
        href = doc.results[name].get(xlink("href"))
        got, head = http.get(href), http.head(href)
        assert (head.status_code, head.content) == (200, b""), name
        assert int(head.headers["content-length"]) == len(got.content), name
        per_request = {"date", "x-request-id"}  # differ between any two requests
        assert {k: v for k, v in head.headers.items() if k not in per_request} == \
            {k: v for k, v in got.headers.items() if k not in per_request}, name


def test_an_uploaded_page_is_an_attachment(http: httpx.Client) -> None:
    created = http.post("/jobs", data={"app": "hostile-results"},
                        files={"page": ("evil.html", PAGE, "text/html")})
    assert created.status_code == 303, created.text
    job_url = created.headers["location"]
    response = http.get(f"{urlsplit(job_url).path}/inputs/page")
    assert (response.status_code, response.content) == (200, PAGE)
    assert media(response) == "application/octet-stream"
    assert {k: response.headers[k] for k in PROTECTIVE} == PROTECTIVE
    assert response.headers["content-disposition"].startswith("attachment; filename=\"page-")
    head = http.head(f"{urlsplit(job_url).path}/inputs/page")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(PAGE))


def test_every_response_of_the_service_says_nosniff(http: httpx.Client,
                                                    hostile_job: tuple[str, JobDoc]) -> None:
    url, _ = hostile_job
    for path in ("/jobs", urlsplit(url).path, "/apps", "/availability", "/capabilities",
                 "/jobs/nope", "/registry/tap/tables", "/registry/oai?verb=Identify"):
        response = http.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["content-security-policy"].startswith("default-src 'none'"), \
            path
