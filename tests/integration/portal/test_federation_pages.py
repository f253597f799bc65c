"""The federation page of two data centres (tests/support/portal_registry.py): the data
centres and their collections as the registry describes them; for an app, the planner's
candidates with quotes, the reason each one is left out, and where "run at the best" goes.
The planner's quote jobs are gone once the page is read."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.portal import BROWSER_ACCEPT, parse_page
from tests.support.portal_registry import NORTH, SOUTH, Federation


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with Federation(tmp_path_factory.mktemp("federation")) as started:
        yield started


def browse(url: str, path: str, **params: str) -> httpx.Response:
    with httpx.Client(base_url=url, headers={"Accept": BROWSER_ACCEPT}, timeout=120) as web:
        return web.get(path, params=params)


def cells(page: httpx.Response, caption: str) -> list[list[str]]:
    """The rows of the table with this caption, as the text of their cells."""
    assert f"<caption>{caption}" in page.text, caption
    start = page.text.index(f"<caption>{caption}")
    table = page.text[start:page.text.index("</table>", start)]
    # After the caption: the header row, then one row per data centre.
    return [["".join(parse_page(cell).text).strip() for cell in chunk.split("<td>")[1:]]
            for chunk in table.split("<tr>")[2:]]


def run_links(page: httpx.Response) -> list[str]:
    """Where the page's "Run at the best" button goes."""
    return [attrs["href"] for tag, attrs in parse_page(page.text).elements
            if tag == "a" and attrs.get("class") == "button primary"]


def test_the_data_centres_and_their_collections(federation: Federation) -> None:
    page = browse(federation.north.url, "/portal/federation")
    assert page.status_code == 200, page.text
    for authority, sky, service in ((NORTH, "north-sky", federation.north),
                                    (SOUTH, "south-sky", federation.south)):
        assert f"<h3>{authority}</h3>" in page.text
        assert f'<span class="tag">{sky}</span>' in page.text
        assert f'href="{service.url}/portal"' in page.text


def test_an_app_both_offer_runs_at_the_best(federation: Federation) -> None:
    page = browse(federation.north.url, "/portal/federation", app="hello")
    assert page.status_code == 200, page.text
    ranked = cells(page, "Candidates, best first")
    assert sorted(row[0] for row in ranked) == [NORTH, SOUTH]
    assert all(row[1] != "none given" for row in ranked), ranked
    best = ranked[0][0]
    expected = ("/portal/apps/hello" if best == NORTH
                else f"{federation.south.url}/portal/apps/hello")
    assert run_links(page) == [expected]


def test_a_centre_without_the_app_is_left_out_with_its_reason(federation: Federation) -> None:
    here = browse(federation.north.url, "/portal/federation", app="demo", count="2")
    assert [row[0] for row in cells(here, "Candidates, best first")] == [NORTH]
    assert cells(here, "Left out, and why") == [[SOUTH, "does not offer the app demo"]]
    assert run_links(here) == ["/portal/apps/demo"]
    there = browse(federation.south.url, "/portal/federation", app="demo", count="2")
    assert run_links(there) == [f"{federation.north.url}/portal/apps/demo"]


def test_a_refused_quote_is_a_reason_too(federation: Federation) -> None:
    page = browse(federation.north.url, "/portal/federation", app="demo")  # count is required
    assert "No data centre of the federation can run demo now." in page.text
    reasons = dict((row[0], row[1]) for row in cells(page, "Left out, and why"))
    assert reasons[NORTH].startswith("refused:") and "count" in reasons[NORTH]
    assert run_links(page) == []


def test_the_quote_jobs_are_deleted(federation: Federation) -> None:
    browse(federation.north.url, "/portal/federation", app="hello")
    for service in (federation.north, federation.south):
        with service.client() as api:
            listed = api.get("/jobs", params={"PHASE": "PENDING"})
        assert listed.status_code == 200 and "<uws:jobref " not in listed.text


def test_a_bad_app_name_is_refused(federation: Federation) -> None:
    page = browse(federation.north.url, "/portal/federation", app="../etc")
    assert page.status_code == 400 and "app: the name of an app" in page.text
