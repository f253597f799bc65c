"""An astronomer's jobs in a real browser against a real service on the Docker engine: from
the home page to fits-stats, a FITS file uploaded, the job watched to COMPLETED on its page,
the preview and the statistics, the results downloaded one by one and as a zip; xmatch's
result table paged; the jobs list. Every page is checked (console, axe-core) and
screenshotted (tests/support/browsing.py); every wait is on the page's DOM."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from selenium.webdriver.common.keys import Keys

from tests.support.browser import Browser
from tests.support.browsing import (
    MAIN_PAGES,
    WEIGHT_TARGET,
    check_page,
    weight_without_images,
)

JOB_TIMEOUT = 300  # seconds for a container to start, run and finish on a busy machine


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A 32 x 32 FITS image whose statistics are known: 0 to 1023, mean 511.5."""
    path = tmp_path / "ramp.fits"
    fits.PrimaryHDU(np.arange(32 * 32, dtype="float32").reshape(32, 32)).writeto(path)
    return path


def wait_for_phase(browser: Browser, phase: str) -> None:
    """Until the job page shows `phase` (the page updates itself from the job's events and
    reloads when it ends)."""
    browser.wait_until(lambda: browser.text("#job-phase") == phase, f"the phase {phase}",
                       timeout=JOB_TIMEOUT)
    browser.wait_loaded()


def run_fits_stats(browser: Browser, image: Path) -> str:
    """From the home page: find fits-stats, choose the file, Run; the job page's URL."""
    browser.open("/")
    browser.type("#home-q", "fits")
    browser.press(Keys.ENTER)
    browser.click(".cards .card h3 a[href='/portal/apps/fits-stats']")
    browser.wait_for_url("/portal/apps/fits-stats")
    browser.upload('input[name="image"]', image)
    browser.click("form.app-form button.primary")
    return browser.wait_until(
        lambda: browser.current_url if "/portal/jobs/" in browser.current_url else None,
        "the job page")


def test_fits_stats_from_home_to_downloads(visitor: Browser, image: Path) -> None:
    job_url = run_fits_stats(visitor, image)
    assert visitor.find("#job-phase").text in {"QUEUED", "EXECUTING", "COMPLETED"}
    params = visitor.text("main table.data")
    assert "image file image-" in params and "stretch asinh" in params  # the upload, renamed
    wait_for_phase(visitor, "COMPLETED")
    visitor.wait_for("#job-results")
    results = visitor.text("#job-results")
    assert "stats.json" in results and "preview.png" in results
    check_page(visitor, "job-completed", dark=True)

    visitor.click("#job-results a[href$='/preview/preview.png']")
    picture = visitor.wait_for("img.preview")
    assert visitor.wait_until(lambda: visitor.execute(
        "return arguments[0].complete && arguments[0].naturalWidth", picture),
        "the preview image to load") > 0
    check_page(visitor, "preview-png", dark=True)

    visitor.open(job_url)
    visitor.click("#job-results a[href$='/preview/stats.json']")
    stats = json.loads(visitor.text("pre.log"))
    first = stats["hdus"][0]
    assert (first["min"], first["max"], first["mean"]) == (0, 1023, 511.5), first
    check_page(visitor, "preview-stats-json")

    visitor.open(job_url)
    stats_file = visitor.download(
        lambda: visitor.click("#job-results a[href$='/download/stats.json']"))
    assert stats_file.name == "stats.json"
    assert json.loads(stats_file.read_text()) == stats
    archive = visitor.download(lambda: visitor.click("a[href$='/zip']"))
    assert archive.suffix == ".zip"
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        assert {"stats.json", "preview.png"} <= names, names
        assert json.loads(zipped.read("stats.json")) == stats
    visitor.assert_no_console_errors()


def catalogue(path: Path, rows: int, shift_arcsec: float) -> Path:
    """A CSV catalogue of `rows` sources on a line of the sky, shifted in Dec."""
    Table({"id": [f"S{n:03d}" for n in range(rows)],
           "ra": [10.0 + n * 0.01 for n in range(rows)],
           "dec": [20.0 + shift_arcsec / 3600 for _ in range(rows)]}).write(path, format="csv")
    return path


def test_xmatch_result_table_pages(visitor: Browser, tmp_path: Path) -> None:
    visitor.open("/portal/apps/xmatch")
    visitor.upload('input[name="primary"]', catalogue(tmp_path / "a.csv", 120, 0))
    visitor.upload('input[name="secondary"]', catalogue(tmp_path / "b.csv", 120, 0.5))
    visitor.type('input[name="radius"]', "2")
    visitor.click("form.app-form button.primary")
    visitor.wait_for_url("/portal/jobs/")
    wait_for_phase(visitor, "COMPLETED")
    visitor.click("#job-results a[href$='/preview/matches.vot']")
    visitor.wait_for("table.result-table")
    assert "120 rows" in visitor.text("main p.meta")
    heads = visitor.text("table.result-table thead")
    assert "ra_1" in heads and "separation\n[arcsec]" in heads  # a column with its unit
    first_page = [row.text for row in visitor.find_all("table.result-table tbody tr")]
    assert len(first_page) == 50
    check_page(visitor, "xmatch-table", dark=True)
    visitor.click(".pager a[rel=next]")
    visitor.wait_for_text(".pager span", "Page 2 of 3")
    second_page = [row.text for row in visitor.find_all("table.result-table tbody tr")]
    assert len(second_page) == 50 and not set(second_page) & set(first_page)
    assert second_page[0].startswith("S050"), second_page[0]
    check_page(visitor, "xmatch-table-page-2")


def test_the_jobs_list(visitor: Browser, image: Path) -> None:
    run_fits_stats(visitor, image)
    wait_for_phase(visitor, "COMPLETED")
    visitor.open("/portal/jobs")
    rows = visitor.find_all("main table tbody tr")
    assert rows and any("fits-stats" in row.text for row in rows)
    check_page(visitor, "jobs", dark=True)


def test_main_pages_weigh_under_300_kb(visitor: Browser, image: Path) -> None:
    """Sizes, not times: the bytes a first visit transfers, images left out (the figures
    themselves: benchmarks/portal_weight.py)."""
    job_url = run_fits_stats(visitor, image)
    wait_for_phase(visitor, "COMPLETED")
    weights = {path: weight_without_images(visitor, path)
               for path in (*MAIN_PAGES, job_url)}
    for path, (transferred, bodies) in weights.items():
        assert 0 < bodies < transferred < WEIGHT_TARGET, (path, transferred, bodies)
