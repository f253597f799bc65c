"""The registry search and resource pages over a RegTAP index holding two data centres'
records (tests/support/portal_registry.py): words found in titles, descriptions and
subjects, a page at a time; one resource with its capabilities and its record's link."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from innerspace.portal import pages_registry
from tests.support.portal import BROWSER_ACCEPT, parse_page
from tests.support.portal_registry import Federation


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with Federation(tmp_path_factory.mktemp("federation")) as started:
        yield started


@pytest.fixture
def browser(federation: Federation) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=federation.north.url, headers={"Accept": BROWSER_ACCEPT},
                      timeout=60) as client:
        yield client


def found(page: httpx.Response) -> list[str]:
    """The ivoids a result page links to, in order."""
    links = [attrs["href"] for tag, attrs in parse_page(page.text).elements
             if tag == "a" and attrs.get("href", "").startswith("/portal/registry/resource?")]
    return [parse_qs(urlsplit(link).query)["ivoid"][0] for link in links]


def test_a_search_finds_every_word_in_both_data_centres_records(browser: httpx.Client) -> None:
    page = browser.get("/portal/registry", params={"q": "TAP service"})
    assert page.status_code == 200, page.text
    assert found(page) == ["ivo://north.example/tap", "ivo://south.example/tap"]
    north = found(browser.get("/portal/registry", params={"q": "North TAP"}))
    assert "ivo://north.example/tap" in north
    assert not any(ivoid.startswith("ivo://south.example") for ivoid in north)
    nothing = browser.get("/portal/registry", params={"q": "nosuchwordanywhere"})
    assert found(nothing) == [] and "0 resources" in nothing.text


def test_quotes_in_words_are_only_ever_words(browser: httpx.Client) -> None:
    page = browser.get("/portal/registry", params={"q": "x' OR 1=1 --"})
    assert page.status_code == 200 and found(page) == []


def test_results_come_a_page_at_a_time(browser: httpx.Client,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    every = found(browser.get("/portal/registry", params={"q": "north"}))
    assert len(every) >= 3, every
    monkeypatch.setattr(pages_registry, "PAGE", 2)
    seen: list[str] = []
    url: str | None = "/portal/registry?q=north"
    while url:
        page = browser.get(url)
        assert page.status_code == 200
        assert len(found(page)) <= 2
        seen += found(page)
        nexts = [attrs["href"] for tag, attrs in parse_page(page.text).elements
                 if tag == "a" and attrs.get("rel") == "next"]
        url = nexts[0] if nexts else None
    assert seen == every


def test_too_many_words_are_refused_at_the_field(browser: httpx.Client) -> None:
    page = browser.get("/portal/registry", params={"q": " ".join(["w"] * 20)})
    assert page.status_code == 400 and "q: search for at most" in page.text


def test_a_resource_shows_its_capabilities_and_record(browser: httpx.Client,
                                                      federation: Federation) -> None:
    ivoid = "ivo://north.example/innerspace/uws"
    page = browser.get("/portal/registry/resource", params={"ivoid": ivoid})
    assert page.status_code == 200, page.text
    assert f"{federation.north.url}/jobs" in page.text  # the UWS interface's access URL
    record = next(attrs["href"] for tag, attrs in parse_page(page.text).elements
                  if tag == "a" and "GetRecord" in attrs.get("href", ""))
    assert record.startswith("/registry/oai?")
    assert parse_qs(urlsplit(record).query)["identifier"] == [ivoid]
    harvested = browser.get("/portal/registry/resource",
                            params={"ivoid": "ivo://south.example/tap"})
    assert harvested.status_code == 200 and "South TAP service" in harvested.text
    missing = browser.get("/portal/registry/resource", params={"ivoid": "ivo://none/x"})
    assert missing.status_code == 404 and "knows no resource" in missing.text
    assert browser.get("/portal/registry/resource", params={"ivoid": "x"}).status_code == 400


def test_without_a_registry_the_page_says_so(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.support.portal import PortalService

    with PortalService(tmp_path_factory.mktemp("bare")) as service, service.browser() as web:
        page = web.get("/portal/registry", params={"q": "tap"})
        assert page.status_code == 200
        assert "registry search is not available" in page.text
