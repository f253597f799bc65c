"""The example apps do real work: xmatch's answer is checked against astropy run here, and
fits-stats' statistics against numpy on the same file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table

from tests.support.paths import load_script
from tests.support.services import LiveService
from tests.support.uwsutil import UWS, create, results, wait_final


def test_xmatch_matches_as_astropy_does(service: LiveService, tmp_path: Path) -> None:
    primary, secondary = tmp_path / "primary.vot", tmp_path / "secondary.fits"
    load_script("make_demo_catalogues").make(str(primary), str(secondary), count=120)
    a, b = Table.read(primary), Table.read(secondary)
    ca = SkyCoord(a["RA"], a["DEC"], unit="deg")
    cb = SkyCoord(b["RAJ2000"], b["DEJ2000"], unit="deg")
    # Brute force, all pairs (astropy's matcher would need scipy here).
    nearest = ca[:, None].separation(cb[None, :]).min(axis=1)
    expected = int((nearest.to(u.arcsec).value <= 0.8).sum())

    with service.client() as http, primary.open("rb") as p, secondary.open("rb") as s:
        job_url = create(http, {"app": "xmatch", "radius": "0.8", "PHASE": "RUN"},
                         files={"primary": ("primary.vot", p), "secondary": ("s.fits", s)})
        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED", root.findtext(
            f"{UWS}errorSummary/{UWS}message")
        assert set(results(root)) == {"matches.vot", "summary.json", "separations.png",
                                      "stdout", "stderr"}
        summary = json.loads(http.get(f"{job_url}/results/summary.json").content)
        matches = Table.read(io.BytesIO(http.get(f"{job_url}/results/matches.vot").content),
                             format="votable")
    assert summary["matches"] == expected == len(matches)
    assert summary["columns"] == {"primary": ["RA", "DEC"], "secondary": ["RAJ2000", "DEJ2000"]}
    assert float(np.max(matches["separation"])) <= 0.8
    assert 0.5 < summary["match_fraction"] < 1.0


def test_xmatch_refuses_tables_without_positions(service: LiveService, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    with service.client() as http, bad.open("rb") as p, bad.open("rb") as s:
        job_url = create(http, {"app": "xmatch", "PHASE": "RUN"},
                         files={"primary": ("bad.csv", p), "secondary": ("bad.csv", s)})
        root = wait_final(http, job_url)
    assert root.findtext(f"{UWS}phase") == "ERROR"
    assert "no recognisable RA/Dec columns" in root.findtext(f"{UWS}errorSummary/{UWS}message")


def test_fits_stats_agrees_with_numpy(service: LiveService, fits_file: Path) -> None:
    with service.client() as http, fits_file.open("rb") as handle:
        job_url = create(http, {"app": "fits-stats", "stretch": "log", "PHASE": "RUN"},
                         files={"image": ("field.fits", handle)})
        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        stats = json.loads(http.get(f"{job_url}/results/stats.json").content)
        png = http.get(f"{job_url}/results/preview.png").content
    data = fits.getdata(fits_file).astype(float)
    first = stats["hdus"][0]
    assert first["shape"] == list(data.shape)
    assert first["median"] == np.median(data)
    assert abs(first["std"] - data.std()) < 1e-9 * max(1.0, data.std())
    assert png.startswith(b"\x89PNG")
