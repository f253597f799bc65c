"""An astronomer at the portal in a real browser (headless Chromium) against a real service
on the Docker engine: the home page, finding an app, its form, a bad value reported at its
field (by the page's own check, and by the server when that check is bypassed), and the
keyboard alone reaching every field and the Run button. Every page is checked for console
errors and accessibility and screenshotted (tests/support/browsing.py)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.keys import Keys

from tests.support.browser import Browser
from tests.support.browsing import check_page, field_error


def test_home_page_finds_fits_stats(visitor: Browser) -> None:
    visitor.open("/")  # the root URL: a browser gets the portal's home
    assert visitor.find("main#main h1").text
    assert "FITS image statistics" in visitor.text("#apps-title + form ~ ul, main")
    check_page(visitor, "home", dark=True)
    visitor.type("#home-q", "fits")
    visitor.press(Keys.ENTER)
    visitor.wait_for_url("/portal/apps?q=fits")
    titles = [e.text for e in visitor.find_all(".cards .card h3")]
    assert titles[0] == "FITS image statistics", titles  # xmatch reads FITS tables too
    check_page(visitor, "apps-search-fits", dark=True)
    visitor.click(".cards .card h3 a")
    visitor.wait_for_url("/portal/apps/fits-stats")
    assert visitor.find('input[type="file"][name="image"]').is_displayed()
    assert visitor.find('select[name="stretch"]').get_attribute("value") == "asinh"
    check_page(visitor, "app-fits-stats", dark=True)


def test_the_catalogue_lists_every_app(visitor: Browser) -> None:
    visitor.open("/portal/apps")
    names = {e.text.split()[0] for e in visitor.find_all(".cards .card .meta code")}
    assert {"hello", "fits-stats", "xmatch"} <= names, names
    check_page(visitor, "apps", dark=True)
    visitor.type("#apps-q", "no such app anywhere")
    visitor.press(Keys.ENTER)
    visitor.wait_for_text("[role=status]", "0 apps")
    assert visitor.find_all(".cards .card") == []
    check_page(visitor, "apps-search-nothing")


def test_a_bad_value_is_reported_at_its_field(visitor: Browser) -> None:
    visitor.open("/portal/apps/xmatch")
    visitor.type('input[name="radius"]', "5000")
    visitor.press(Keys.TAB)  # the change is checked by the service as the field is left
    in_page = field_error(visitor, "radius")
    assert "3600" in in_page, in_page
    assert visitor.find('input[name="radius"]').get_attribute("aria-invalid") == "true"
    visitor.click("form.app-form button.primary")  # Run: the page keeps the form back
    # ... and takes the focus to the first field to change (the missing first catalogue).
    assert visitor.wait_until(lambda: visitor.execute(
        "return document.activeElement.name") == "primary", "the focus at a bad field")
    assert field_error(visitor, "primary")
    assert field_error(visitor, "radius") == in_page
    assert "/portal/apps/xmatch" in visitor.current_url
    check_page(visitor, "app-xmatch-bad-radius", dark=True)

    # The same value sent with the page's check bypassed: the server answers with the form
    # again and the same message at the field.
    visitor.open("/portal/apps/xmatch")
    visitor.type('input[name="radius"]', "5000")
    visitor.execute("const form = document.querySelector('form.app-form');"
                    "form.dataset.checked = 'yes'; form.noValidate = true;"
                    "HTMLFormElement.prototype.submit.call(form);")
    visitor.wait_for_url("/portal/apps/xmatch/run")
    assert field_error(visitor, "radius") == in_page
    assert visitor.find('input[name="radius"]').get_attribute("value") == "5000"
    # The missing files are reported at their fields too; the 400 is the only console error.
    assert field_error(visitor, "primary")
    check_page(visitor, "app-xmatch-server-errors", ignore=[r"/run - .*400"])


def test_the_keyboard_reaches_every_field_and_run(visitor: Browser) -> None:
    visitor.open("/portal/apps/xmatch")
    order = visitor.tab_order()
    assert order[0].text == "Skip to content"
    names = [f.name for f in order]
    for field in ("primary", "secondary", "radius", "keep_unmatched"):
        assert field in names, names
    run = next(f for f in order if f.tag == "button" and f.text == "Run")
    assert names.index("keep_unmatched") < order.index(run)
    assert all(f.visible for f in order), [str(f) for f in order if not f.visible]


@pytest.mark.parametrize("path", ["/portal", "/portal/apps", "/portal/apps/xmatch",
                                  "/portal/jobs", "/portal/registry?q=data"])
def test_pages_fit_a_phone(visitor: Browser, path: str) -> None:
    visitor.emulate(width=375, height=740)
    visitor.open(path)
    assert visitor.execute("return innerWidth") == 375
    check_page(visitor, "phone", dark=True)  # nothing wider than the phone's screen
