"""Finding data and data centres in a real browser against a real service: the registry's
keyword search over RegTAP and the federation page with the planner's answer for an app.
Every page is checked (console, axe-core) and screenshotted (tests/support/browsing.py)."""

from __future__ import annotations

from selenium.webdriver.common.keys import Keys

from tests.support.browser import Browser
from tests.support.browsing import check_page


def test_registry_keyword_search(visitor: Browser) -> None:
    visitor.open("/portal")
    centre = visitor.text("#dc-title")
    visitor.click("nav a[href='/portal/registry']")
    visitor.wait_for_url("/portal/registry")
    check_page(visitor, "registry", dark=True)
    word = centre.split()[0]
    visitor.type("#registry-q", word)
    visitor.press(Keys.ENTER)
    visitor.wait_for_text("[role=status]", f"matching “{word}”")
    titles = [e.text for e in visitor.find_all(".registry-results .card-title")]
    assert titles, f"nothing found for {word!r}"
    check_page(visitor, "registry-search", dark=True)
    visitor.click(".registry-results .card-title a")
    visitor.wait_for_url("/portal/registry/resource")
    assert visitor.find("main h1").text
    check_page(visitor, "registry-resource")


def test_federation_plans_an_app(visitor: Browser) -> None:
    visitor.open("/portal/federation")
    assert visitor.find("#centres-heading").is_displayed()
    check_page(visitor, "federation", dark=True)
    visitor.type("#federation-app", "hello")
    visitor.press(Keys.ENTER)
    visitor.wait_for_url("app=hello")
    assert visitor.text("#plan-heading") == "Where hello can run"
    assert "ivo://" in visitor.text("table.data tbody")  # this data centre, with its quote
    check_page(visitor, "federation-plan-hello")
    visitor.click("a.button.primary")  # Run at the best: its form of the app
    visitor.wait_for_url("/portal/apps/hello")
    assert visitor.find("form.app-form input[name=delay]").is_displayed()
