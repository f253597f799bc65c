"""The HTTP side of OAI-PMH: POST works like GET, unreadable and hostile requests get OAI
answers (HTTP 200), the record source's failure is 503 with Retry-After, and the public
URL is the base URL."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from innerspace.registry.records import MANAGED_SET, Record
from tests.support.oai_live import OAI, Live, checked, error_codes, first_token, oai_get, sickle_for
from tests.support.oai_samples import AUTHORITY, EARLIEST, REGISTRY_IVOID, OAISchemas
from tests.support.xmlcheck import child

# -- POST, odd requests, the record source ---------------------------------------------------

def without_date(document: bytes) -> bytes:
    root = etree.fromstring(document)
    child(root, f"{OAI}responseDate").text = ""
    return etree.tostring(root)


def test_post_works_like_get(live: Live, schemas: OAISchemas, http: httpx.Client) -> None:
    token = first_token(http, live, schemas, "ListIdentifiers")
    requests = [
        {"verb": "Identify"}, {"verb": "ListSets"}, {"verb": "ListMetadataFormats"},
        {"verb": "GetRecord", "identifier": REGISTRY_IVOID, "metadataPrefix": "oai_dc"},
        {"verb": "ListRecords", "metadataPrefix": "ivo_vor", "set": MANAGED_SET},
        {"verb": "ListIdentifiers", "resumptionToken": token},
        {"verb": "ListRecords", "metadataPrefix": "nope"}, {"verb": "Nope"},
    ]
    for params in requests:
        got = checked(http.get(live.endpoint, params=params), schemas)
        posted = http.post(live.endpoint, data=params)
        checked(posted, schemas)
        assert without_date(posted.content) == without_date(etree.tostring(got)), params
    by_get = [(r.header.identifier, r.deleted)
              for r in sickle_for(live).ListRecords(metadataPrefix="ivo_vor")]
    by_post = [(r.header.identifier, r.deleted)
               for r in sickle_for(live, http_method="POST").ListRecords(metadataPrefix="ivo_vor")]
    assert by_post == by_get and len(by_post) == len(live.records)


def test_unreadable_requests_are_bad_arguments(live: Live, schemas: OAISchemas,
                                               http: httpx.Client) -> None:
    cases = [
        http.post(live.endpoint, content=b'{"verb": "Identify"}',
                  headers={"content-type": "application/json"}),
        http.post(live.endpoint, content=b"verb=Identify&set=\xff\xfe",
                  headers={"content-type": "application/x-www-form-urlencoded"}),
        http.post(live.endpoint, content=b"verb=Identify",
                  headers={"content-type": "application/x-www-form-urlencoded; charset=latin-1"}),
        http.post(live.endpoint, content=b"verb=Identify&x=" + b"y" * 70_000,
                  headers={"content-type": "application/x-www-form-urlencoded"}),
        http.get(f"{live.endpoint}?verb=Identify&set=%ff"),
        http.get(f"{live.endpoint}?" + "&".join(f"a{i}=1" for i in range(100))),
    ]
    for response in cases:
        root = checked(response, schemas)
        assert error_codes(root) == ["badArgument"], response.request
        assert dict(root.find(f"{OAI}request").attrib) == {}
    # Arguments split between the query and the body count together.
    root = checked(http.post(f"{live.endpoint}?verb=ListSets", data={"verb": "ListSets"}),
                   schemas)
    assert error_codes(root) == ["badVerb"]
    root = checked(http.post(f"{live.endpoint}?verb=ListSets", data={}), schemas)
    assert error_codes(root) == []


HOSTILE = [
    "verb=Identify%00", "verb=%3Cscript%3E&x=%26", "verb=GetRecord&identifier=ivo%3A%2F%2Fa%0b"
    "&metadataPrefix=ivo_vor", "verb=ListRecords&metadataPrefix=ivo_vor&set=%E2%98%83",
    "verb=ListRecords&metadataPrefix=%E2%98%83", "verb=GetRecord&metadataPrefix=ivo_vor&"
    "identifier=" + "a" * 5000, "verb=ListRecords&metadataPrefix=ivo_vor&from=9999-99-99",
    "verb=ListRecords&metadataPrefix=ivo_vor&from=0000-01-01", "verb", "=&=&", "&&&",
    "verb=ListRecords&resumptionToken=" + "%FF" * 3,
    "verb=ListRecords&resumptionToken=eyJ2IjoxfQ.0000000000000000",
    "verb=ListIdentifiers&resumptionToken=%3C%26%3E", "verb=GetRecord&identifier=x:y&"
    "metadataPrefix=ivo_vor", "verb=ListRecords&metadataPrefix=ivo_vor&until=2023-01-15T08:00:00Z"
    "&from=2023-01-15T08:00:00Z", "verb=Identify&verb=ListSets&foo=bar",
    "verb=GetRecord&metadataPrefix=ivo_vor&identifier=a%3A%25zz",
    "verb=GetRecord&metadataPrefix=ivo_vor&identifier=http%3A%2F%2F%5B%3A%3A1",
    "verb=ListMetadataFormats&identifier=ivo%3A%2F%2Fx%2F%23a%23b",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_requests_get_oai_answers(live: Live, schemas: OAISchemas, http: httpx.Client,
                                          query: str) -> None:
    for response in (http.get(f"{live.endpoint}?{query}"),
                     http.post(live.endpoint, content=query.encode(),
                               headers={"content-type": "application/x-www-form-urlencoded"})):
        root = checked(response, schemas)
        body = [c for c in root if c.tag not in (f"{OAI}responseDate", f"{OAI}request")]
        assert body and (error_codes(root) or body[0].tag.startswith(OAI))


def test_record_source_failure_is_503(live: Live, http: httpx.Client) -> None:
    live.registry.failing = True
    try:
        response = http.get(live.endpoint, params={"verb": "Identify"})
    finally:
        live.registry.failing = False
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert http.get(live.endpoint, params={"verb": "Identify"}).status_code == 200


def test_broken_stored_record_is_503(live: Live, http: httpx.Client) -> None:
    broken = Record(f"{AUTHORITY}/broken", b"<ri:Resource", EARLIEST)
    live.registry.content.append(broken)
    try:
        response = http.get(live.endpoint, params={"verb": "GetRecord", "metadataPrefix":
                                                   "ivo_vor", "identifier": broken.ivoid})
    finally:
        live.registry.content.remove(broken)
    assert response.status_code == 503, "the registry's fault, not the harvester's"
    assert response.headers["retry-after"] == "60"
    assert broken.ivoid in response.text


def test_public_url_is_the_base_url(live: Live, schemas: OAISchemas, http: httpx.Client) -> None:
    live.app.state.settings.public_url = "https://vo.example/innerspace/"
    try:
        root = oai_get(http, live, schemas, {"verb": "Identify"})
    finally:
        live.app.state.settings.public_url = None
    expected = "https://vo.example/innerspace/registry/oai"
    assert root.findtext(f"{OAI}request") == expected
    assert root.findtext(f"{OAI}Identify/{OAI}baseURL") == expected


