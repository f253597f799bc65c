"""A finished job run again with a changed value, and the jobs list's filters and bulk delete,
in a real browser against a real service on the Docker engine (the `hello` example app, which
runs in a second or two). Jobs that only have to exist are made through the UWS API and left
PENDING (no container); every page is checked (console, axe-core) and screenshotted
(tests/support/browsing.py); every wait is on the page's DOM or the service's answer."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from astropy.io import fits
from selenium.webdriver.support.select import Select

from tests.support.browser import Browser
from tests.support.browsing import check_page
from tests.support.services import LiveService

JOB_TIMEOUT = 300  # seconds for a container to start, run and finish on a busy machine


@pytest.fixture
def api(site_service: LiveService) -> Iterator[httpx.Client]:
    """The UWS API as the same (anonymous) owner as the browser."""
    with site_service.client() as client:
        yield client


def pending(api: httpx.Client, app: str, files: dict[str, tuple[str, bytes]] | None = None,
            **params: str) -> str:
    """A job of `app` created and left PENDING: it never starts a container."""
    answer = api.post("/jobs", data={"app": app, **params}, files=files)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).rsplit("/", 1)[-1]


def tiny_fits() -> bytes:
    buffer = io.BytesIO()
    fits.PrimaryHDU(np.zeros((4, 4), dtype="float32")).writeto(buffer)
    return buffer.getvalue()


def wait_for_phase(browser: Browser, phase: str) -> None:
    """Until the job page shows `phase` (it updates itself and reloads when the job ends)."""
    browser.wait_until(lambda: browser.text("#job-phase") == phase, f"the phase {phase}",
                       timeout=JOB_TIMEOUT)
    browser.wait_loaded()


def run_hello(browser: Browser, name: str, delay: str) -> str:
    """Run hello from its app page; the new job's id once its page is open."""
    browser.open("/portal/apps/hello")
    browser.type('input[name="name"]', name)
    browser.type('input[name="delay"]', delay)
    browser.click("form.app-form button.primary")
    browser.wait_for_url("/portal/jobs/")
    return browser.current_url.rstrip("/").rsplit("/", 1)[-1]


def parameters(browser: Browser) -> dict[str, str]:
    """The job page's table of parameters."""
    rows = browser.find_all("section[aria-labelledby=params-title] tbody tr")
    pairs = (row.text.split(" ", 1) for row in rows)
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


def listed(browser: Browser) -> list[str]:
    """The ids of the jobs the jobs list shows, in order."""
    return [str(box.get_attribute("value"))
            for box in browser.find_all("form.bulk tbody input[type=checkbox][name=job]")]


def filter_by(browser: Browser, phase: str = "", app: str = "") -> None:
    """Choose the filters in the form and press Filter."""
    Select(browser.find("#f-phase")).select_by_value(phase)
    Select(browser.find("#f-app")).select_by_value(app)
    browser.click("form.filters button[type=submit]")
    browser.wait_for_url(f"phase={phase}&app={app}")
    browser.wait_loaded()


def test_rerun_with_a_changed_value(visitor: Browser) -> None:
    first = run_hello(visitor, "Ada", "0.5")
    wait_for_phase(visitor, "COMPLETED")
    assert parameters(visitor)["name"] == "Ada"
    check_page(visitor, "job-hello-completed")

    visitor.click(".job-actions a.button")  # Re-run with changed values
    visitor.wait_for_url(f"/portal/apps/hello?version=1.0.0&from={first}")
    visitor.wait_loaded()
    name, delay = visitor.find('input[name="name"]'), visitor.find('input[name="delay"]')
    assert name.get_attribute("value") == "Ada", "the form shows the job's values"
    assert float(str(delay.get_attribute("value"))) == 0.5
    check_page(visitor, "app-hello-rerun", dark=True)

    visitor.type('input[name="name"]', "Grace")
    visitor.click("form.app-form button.primary")
    second = visitor.wait_until(
        lambda: (visitor.current_url.rstrip("/").rsplit("/", 1)[-1]
                 if "/portal/jobs/" in visitor.current_url else None), "the new job's page")
    assert second != first, "a new job, not the old one again"
    wait_for_phase(visitor, "COMPLETED")
    given = parameters(visitor)
    assert given["name"] == "Grace" and float(given["delay"]) == 0.5, given
    visitor.click("#job-results a[href$='/preview/greeting.txt']")
    visitor.wait_for_text("main", "Hello, Grace!")
    check_page(visitor, "job-hello-rerun-greeting")

    visitor.open(f"/portal/jobs/{first}")  # the first job is as it was
    assert parameters(visitor)["name"] == "Ada"
    assert visitor.text("#job-phase") == "COMPLETED"


def test_the_filters_by_phase_and_app(visitor: Browser, api: httpx.Client) -> None:
    done = run_hello(visitor, "Filter", "0")
    wait_for_phase(visitor, "COMPLETED")
    waiting = [pending(api, "hello", name="Pending") for _ in range(2)]
    stats = pending(api, "fits-stats", files={"image": ("zeros.fits", tiny_fits())})

    visitor.open("/portal/jobs")
    everything = listed(visitor)
    assert {done, stats, *waiting} <= set(everything), everything
    check_page(visitor, "jobs-unfiltered")

    filter_by(visitor, phase="COMPLETED")
    by_phase = listed(visitor)
    assert done in by_phase and not {stats, *waiting} & set(by_phase), by_phase
    phases = {e.text for e in visitor.find_all("form.bulk tbody .phase")}
    assert phases == {"COMPLETED"}, phases
    assert visitor.find("#f-phase").get_attribute("value") == "COMPLETED", "kept in the form"
    check_page(visitor, "jobs-completed")

    filter_by(visitor, app="fits-stats")
    assert listed(visitor) == [stats]
    assert visitor.find("#f-app").get_attribute("value") == "fits-stats"
    check_page(visitor, "jobs-fits-stats")

    filter_by(visitor, phase="PENDING", app="hello")
    both = listed(visitor)
    assert set(waiting) <= set(both) and not {done, stats} & set(both), both

    filter_by(visitor, phase="COMPLETED", app="fits-stats")
    assert listed(visitor) == []
    assert "No jobs match these filters" in visitor.text("form.bulk tbody")
    check_page(visitor, "jobs-none-match")


def test_bulk_delete(visitor: Browser, api: httpx.Client) -> None:
    jobs = [pending(api, "hello", name=f"Bulk {n}") for n in range(4)]
    chosen, kept = jobs[1:3], [jobs[0], jobs[3]]
    visitor.open("/portal/jobs?app=hello&phase=PENDING")
    assert set(jobs) <= set(listed(visitor))
    for job_id in chosen:
        visitor.click(f"#sel-{job_id}")
    assert [visitor.find(f"#sel-{j}").is_selected() for j in jobs] == [False, True, True,
                                                                        False]
    visitor.click("form.bulk button.danger")
    visitor.wait_for_text(".report[role=status]", "2 of 2 deleted")
    visitor.wait_loaded()
    check_page(visitor, "jobs-bulk-deleted")

    visitor.open("/portal/jobs")
    left = listed(visitor)
    assert not set(chosen) & set(left), left
    assert set(kept) <= set(left), left
    assert [api.get(f"/jobs/{j}").status_code for j in jobs] == [200, 404, 404, 200]
