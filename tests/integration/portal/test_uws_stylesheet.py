"""UWS documents read well in a browser: the job list and a job name the portal's uws.xsl
in an xml-stylesheet processing instruction, their Content-Security-Policy lets the browser
apply it (and load the portal's CSS), the stylesheet turns them into HTML pages - and the
documents stay what UWS clients and the UWS schema expect."""

from __future__ import annotations

import pyvo
from lxml import etree

from innerspace import __version__
from tests.support.portal import PortalService, parse_page
from tests.support.uwsutil import create
from tests.support.xmlcheck import SchemaSet

PI = f'<?xml-stylesheet type="text/xsl" href="/portal/static/uws.xsl?v={__version__}"?>'


def transform(portal: PortalService, document: bytes) -> str:
    with portal.client() as http:
        sheet = http.get("/portal/static/uws.xsl")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/xsl")
    xslt = etree.XSLT(etree.fromstring(sheet.content))
    return str(xslt(etree.fromstring(document)))


def test_job_list_and_job_carry_the_stylesheet(portal: PortalService,
                                               xml_schemas: SchemaSet) -> None:
    with portal.client() as http:
        job_url = create(http, {"app": "hello", "name": "XSLT"})
        job_id = job_url.rsplit("/", 1)[-1]
        listed = http.get("/jobs")
        job = http.get(job_url)
    for response in (listed, job):
        assert response.status_code == 200
        lines = response.content.decode().splitlines()
        assert lines[0].startswith("<?xml version=") and lines[1].startswith(PI), lines[:2]
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        xml_schemas.validate(response.content)

    listed_page = parse_page(transform(portal, listed.content))
    assert ("a", {"href": job_url}) in listed_page.elements
    job_page = transform(portal, job.content)
    assert f"Job {job_id}" in job_page and "PENDING" in job_page
    assert f'href="/portal/jobs/{job_id}"' in job_page
    assert 'href="/portal/static/portal.css"' in job_page


def test_clients_read_the_documents_as_before(portal: PortalService) -> None:
    with portal.client() as http:
        job_url = create(http, {"app": "hello", "name": "pyvo"})
    job = pyvo.io.uws.parse_job(job_url)
    assert job.jobid == job_url.rsplit("/", 1)[-1] and job.phase == "PENDING"
    jobs = pyvo.io.uws.parse_job_list(f"{portal.url}/jobs")
    assert job.jobid in {ref.jobid for ref in jobs}


def test_other_documents_keep_the_strict_policy(portal: PortalService) -> None:
    with portal.client() as http:
        text = http.get("/availability")
        json_doc = http.get("/apps", headers={"Accept": "application/json"})
    assert "<?xml-stylesheet" not in text.text
    assert json_doc.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in json_doc.headers["content-security-policy"]
