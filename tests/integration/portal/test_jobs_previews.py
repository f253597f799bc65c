"""Result previews over HTTP: a FITS image as a PNG with a stretch choice, tables as pages
of 50 rows, JSON, text, a raster image re-encoded; a hostile file is a message in the page
(never a 500), and everything the app wrote is escaped."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from PIL import Image

from tests.support.portal import PortalService
from tests.support.portal_jobs import finish, harness, make_job, started

ALICE = "alice-token"


def write_results(service: PortalService, job_id: str) -> None:
    """Binary results, written where the app writes them."""
    spec = harness(service).engine.container_of(job_id).spec
    assert spec is not None
    results = Path(spec.results_dir)
    fits.PrimaryHDU(np.random.default_rng(1).normal(size=(40, 30))).writeto(
        results / "image.fits")
    whole = fits.PrimaryHDU(np.ones((100, 100))).header.tostring().encode()
    (results / "cut.fits").write_bytes(whole + b"\0" * 100)
    table = Table({"mag": np.arange(75) / 10, "id": [f"<i>{n}" for n in range(75)]})
    table["mag"].unit = "mag"
    table.write(results / "cat.ecsv", format="ascii.ecsv")
    Image.new("RGB", (20, 10), (200, 0, 0)).save(results / "plot.png")


def test_previews_of_each_kind(portal_auth: PortalService) -> None:
    with portal_auth.browser(Authorization=f"Bearer {ALICE}") as http:
        job_id = make_job(http)
        started(portal_auth, job_id)
        write_results(portal_auth, job_id)
        finish(portal_auth, job_id, {"notes.json": '{"k": "<v>"}', "log.txt": "line <1>"})
        base = f"/portal/jobs/{job_id}/preview"
        image = http.get(f"{base}/image.fits", params={"stretch": "log"})
        assert image.status_code == 200 and '<option value="log" selected>' in image.text
        assert "format=png&amp;stretch=log&amp;interval=zscale" in image.text
        png = http.get(f"{base}/image.fits", params={"format": "png", "stretch": "sqrt"})
        assert png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == (30, 40)
        cut = http.get(f"{base}/cut.fits")
        assert cut.status_code == 200 and 'id="preview-message"' in cut.text
        assert http.get(f"{base}/cut.fits", params={"format": "png"}).status_code == 404
        table = http.get(f"{base}/cat.ecsv", params={"page": "2"})
        assert table.status_code == 200
        assert "page 2 of 2" in table.text and "[mag]" in table.text
        assert "&lt;i&gt;50" in table.text and "<i>" not in table.text
        assert table.text.count("<tr>") == 1 + 25
        raster = http.get(f"{base}/plot.png", params={"format": "png"})
        assert Image.open(io.BytesIO(raster.content)).size == (20, 10)
        notes = http.get(f"{base}/notes.json").text
        assert '&#34;k&#34;: &#34;&lt;v&gt;&#34;' in notes or "&lt;v&gt;" in notes
        assert "line &lt;1&gt;" in http.get(f"{base}/log.txt").text
        assert http.get(f"{base}/stdout").status_code == 200
        assert http.get(f"{base}/nothing.txt").status_code == 404
