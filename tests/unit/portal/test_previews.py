"""Previews of results, from files made here: FITS images to PNG with each stretch, FITS
tables, VOTable, CSV and ECSV as pages of 50 rows with units and UCDs, JSON, text; hostile
files (truncated FITS, a header claiming huge dimensions, garbage, a decompression bomb)
give a message, never an exception."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import from_table, writeto
from astropy.table import Table
from PIL import Image

from innerspace.portal import images, previews, tables

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def catalogue(rows: int = 120) -> Table:
    table = Table({"ra": np.linspace(0, 10, rows), "name": [f"s{i}" for i in range(rows)]})
    table["ra"].unit = "deg"
    return table


def test_a_fits_image_is_a_png_with_each_stretch(tmp_path: Path) -> None:
    path = tmp_path / "image.fits"
    fits.PrimaryHDU(np.arange(64 * 48, dtype=np.float32).reshape(48, 64)).writeto(path)
    assert previews.preview(path, "image.fits", "application/fits").kind == "fits-image"
    for stretch in images.STRETCHES:
        for interval in images.INTERVALS:
            data = previews.png(path, "fits-image", stretch, interval)
            assert data.startswith(PNG_MAGIC)
            assert Image.open(io.BytesIO(data)).size == (64, 48)
    with pytest.raises(images.ImageProblem):
        previews.png(path, "fits-image", "cube", "zscale")


def test_a_large_fits_image_is_downsampled(tmp_path: Path) -> None:
    path = tmp_path / "big.fits"
    fits.PrimaryHDU(np.zeros((3000, 2000), dtype=np.int16)).writeto(path)
    width, height = Image.open(io.BytesIO(previews.png(path, "fits-image", "linear",
                                                       "minmax"))).size
    assert width * height <= images.MAX_PIXELS and width == 1000


@pytest.mark.parametrize("kind", ["fits-table", "votable", "csv", "ecsv"])
def test_tables_are_paged_with_units_and_ucds(tmp_path: Path, kind: str) -> None:
    table = catalogue()
    name = {"fits-table": "t.fits", "votable": "t.vot", "csv": "t.csv", "ecsv": "t.ecsv"}[kind]
    path = tmp_path / name
    if kind == "votable":
        votable = from_table(table)
        votable.get_first_table().fields[0].ucd = "pos.eq.ra"
        writeto(votable, str(path))
    elif kind == "fits-table":
        hdu = fits.table_to_hdu(table)
        hdu.header["TUCD1"] = "pos.eq.ra"
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    else:
        table.write(path, format="ascii.ecsv" if kind == "ecsv" else "ascii.csv")
    shown = previews.preview(path, name, "application/octet-stream", page=3)
    assert shown.kind == kind and shown.message is None and shown.table is not None
    page = shown.table
    assert (page.page, page.pages, page.total_rows, len(page.rows)) == (3, 3, 120, 20)
    assert page.rows[0][1] == "s100"
    assert [c.name for c in page.columns] == ["ra", "name"]
    if kind != "csv":
        assert page.columns[0].unit == "deg"
    if kind in ("votable", "fits-table"):
        assert page.columns[0].ucd == "pos.eq.ra"
    assert previews.preview(path, name, "", page=99).table.page == 3  # type: ignore[union-attr]


def test_json_and_text(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"a": [1, 2], "b": "<script>"}))
    shown = previews.preview(path, "r.json", "application/json")
    assert shown.kind == "json" and shown.text is not None and '  "a": [' in shown.text
    path.write_text("{not json")
    assert "not valid JSON" in (previews.preview(path, "r.json", "application/json").message
                                or "")
    log = tmp_path / "log.txt"
    log.write_bytes(b"x" * (previews.MAX_TEXT + 10))
    shown = previews.preview(log, "log.txt", "text/plain")
    assert shown.truncated and len(shown.text or "") == previews.MAX_TEXT
    assert previews.preview(log, "x.bin", "application/octet-stream").kind is None


def test_hostile_files_give_a_message(tmp_path: Path) -> None:
    whole = tmp_path / "whole.fits"
    fits.PrimaryHDU(np.ones((200, 200), dtype=np.float64)).writeto(whole)
    cut = tmp_path / "cut.fits"
    cut.write_bytes(whole.read_bytes()[:4000])
    with pytest.raises(images.ImageProblem):
        previews.png(cut, "fits-image", "asinh", "zscale")
    header = fits.Header({"SIMPLE": True, "BITPIX": 8, "NAXIS": 2,
                          "NAXIS1": 1_000_000, "NAXIS2": 1_000_000})
    huge = tmp_path / "huge.fits"
    huge.write_bytes(header.tostring().encode() + b"\0" * 2880)
    with pytest.raises(images.ImageProblem, match="too large"):
        previews.png(huge, "fits-image", "asinh", "zscale")
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"SIMPLE  = garbage" * 500)
    with pytest.raises(images.ImageProblem):
        previews.png(garbage, "fits-image", "linear", "minmax")
    for name in ("t.vot", "t.ecsv", "t.fits"):
        bad = tmp_path / name
        bad.write_bytes(b"\x00\xff<VOTABLE" * 100)
        shown = previews.preview(bad, name, "")
        assert shown.table is None and (shown.message or shown.image), name
    bad_csv = tmp_path / "t.csv"  # any bytes make some CSV: no exception, at most rubbish
    bad_csv.write_bytes(b"\x00\xff\n\"" * 100)
    assert previews.preview(bad_csv, "t.csv", "").kind == "csv"
    bomb = tmp_path / "bomb.png"
    Image.new("L", (5000, 5000)).save(bomb)
    with pytest.raises(images.ImageProblem, match="too large"):
        previews.png(bomb, "image", "", "")
    not_png = tmp_path / "fake.png"
    not_png.write_bytes(b"<svg onload=alert(1)>")
    with pytest.raises(images.ImageProblem):
        previews.png(not_png, "image", "", "")


def test_a_table_too_large_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    path = tmp_path / "t.csv"
    catalogue().write(path, format="ascii.csv")
    monkeypatch.setattr(tables, "MAX_TABLE_BYTES", 100)
    shown = previews.preview(path, "t.csv", "text/csv")
    assert shown.table is None and "too large" in (shown.message or "")
