"""What the portal's browser tests check on every page they visit (issue 14): no console
errors, no serious or critical accessibility violation (axe-core), nothing wider than the
viewport, and a full-page screenshot under .run/screenshots/<test>/, in light and, for the
main pages, dark mode too (the dark colours get their own contrast check); and what a page
weighs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tests.support.browser import Browser


def check_page(browser: Browser, name: str, *, dark: bool = False,
               ignore: Iterable[str] = ()) -> list[Path]:
    """Check the page the browser shows and screenshot it as `name` (and `name`-dark when
    `dark`); console errors matching a pattern of `ignore` are expected ones. Returns the
    screenshots' paths."""
    ignore = list(ignore)
    browser.assert_no_console_errors(ignore)
    # Responsive: nothing wider than the viewport (long identifiers and digests wrap).
    overflow = browser.execute("return document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"{browser.current_url} is {overflow} px wider than the viewport"
    browser.assert_accessible()
    shots = [browser.screenshot(name)]
    if dark:
        browser.emulate(color_scheme="dark")
        try:
            browser.wait_until(lambda: browser.execute(
                "return matchMedia('(prefers-color-scheme: dark)').matches"), "dark mode")
            browser.assert_accessible()
            shots.append(browser.screenshot(f"{name}-dark"))
        finally:
            browser.emulate(color_scheme="light")
    browser.assert_no_console_errors(ignore)
    return shots


def field_error(browser: Browser, name: str) -> str:
    """The message shown at the form field `name` once there is one."""
    selector = f'.field[data-field="{name}"] .field-error'

    def message() -> str | None:
        element = browser.find(selector)
        return str(element.text).strip() or None if element.is_displayed() else None

    return browser.wait_until(message, f"a message at the field {name!r}")


# The main pages whose weight issue 14 bounds (a job's page is added once a job exists).
MAIN_PAGES = ("/portal", "/portal/apps", "/portal/apps/fits-stats", "/portal/jobs",
              "/portal/federation", "/portal/registry")
WEIGHT_TARGET = 300 * 1024  # bytes over the network, images left out


def weight_without_images(browser: Browser, path: str) -> tuple[int, int]:
    """The bytes a first visit of `path` transfers (headers and bodies as sent) and its
    bodies alone, without images, by the Resource Timing API, the HTTP cache emptied
    first so that every resource counts."""
    browser.clear_cache()
    browser.open(path)
    weight = browser.page_weight()
    counted = [weight.document, *(r for r in weight.resources if r.kind != "img"
                                  and not r.url.split("?")[0].endswith(IMAGE_SUFFIXES))]
    return (sum(t.transfer_size for t in counted), sum(t.encoded_size for t in counted))


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico")
