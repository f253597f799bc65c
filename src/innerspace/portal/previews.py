"""What a result looks like on the job page (/portal/jobs/{id}/preview/{result}): each
result gets a kind from its type and name - an image, a FITS image or table, a VOTable, a
CSV or ECSV table, JSON, text - and a preview of that kind, read within bounds. Every file
is an app's, so untrusted: what cannot be read becomes a message on the page (with the
download), never an error of the service; everything shown is escaped by the templates."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from innerspace.portal import images, tables

MAX_TEXT = 64 * 1024  # bytes of a text result shown
MAX_JSON = 2 * 1024 * 1024  # bytes of a JSON result parsed to pretty-print it
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_BY_SUFFIX = {
    ".fits": "fits", ".fit": "fits", ".fts": "fits", ".fz": "fits",
    ".vot": "votable", ".votable": "votable", ".xml": "votable",
    ".csv": "csv", ".ecsv": "ecsv", ".json": "json",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".webp": "image",
    ".txt": "text", ".log": "text", ".md": "text", ".tsv": "text",
}


def kind_of(result_id: str, mime_type: str) -> str | None:
    """The preview kind of a result (None: it has none; download it)."""
    if result_id in ("stdout", "stderr"):
        return "text"
    base = mime_type.split(";", 1)[0].strip().lower()
    if base in RASTER_TYPES:
        return "image"
    by_type = {"application/fits": "fits", "image/fits": "fits",
               "application/x-votable+xml": "votable", "text/csv": "csv",
               "text/x-ecsv": "ecsv", "application/json": "json",
               "text/plain": "text"}.get(base)
    return by_type or _BY_SUFFIX.get(Path(result_id).suffix.lower())


def fits_kind(path: Path) -> str:
    """"fits-image" or "fits-table": what the first HDU with data holds (headers only)."""
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdus = fits.open(path, memmap=True, lazy_load_hdus=True)
        with hdus:
            for hdu in hdus:
                if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
                    return "fits-table"
                if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2:
                    return "fits-image"
    except Exception:  # an unreadable file: the image preview says why
        return "fits-image"
    return "fits-image"


@dataclass(frozen=True)
class Preview:
    """A result's preview: its `kind` and what the page shows for it."""

    kind: str | None
    message: str | None = None
    table: tables.TablePage | None = None
    text: str | None = None
    truncated: bool = False
    image: bool = False  # the page shows the PNG of the preview's ?format=png


def _text(path: Path) -> Preview:
    with path.open("rb") as source:
        data = source.read(MAX_TEXT + 1)
    return Preview("text", text=data[:MAX_TEXT].decode("utf-8", "replace"),
                   truncated=len(data) > MAX_TEXT)


def _json(path: Path) -> Preview:
    if path.stat().st_size > MAX_JSON:
        shown = _text(path)
        return Preview("json", "the file is too large to pretty-print: its beginning as "
                       "it is", text=shown.text, truncated=True)
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        shown = _text(path)
        return Preview("json", f"not valid JSON ({str(exc)[:200]}): the text as it is",
                       text=shown.text, truncated=shown.truncated)
    try:
        pretty = json.dumps(data, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return _text(path)
    return Preview("json", text=pretty[:MAX_TEXT * 4], truncated=len(pretty) > MAX_TEXT * 4)


def preview(path: Path, result_id: str, mime_type: str, page: int = 1) -> Preview:
    """The preview of the result in `path` (page `page` of a table). Blocking: call it in a
    thread."""
    kind = kind_of(result_id, mime_type)
    if kind is None:
        return Preview(None, "there is no preview of this kind of file: download it")
    if kind == "fits":
        kind = fits_kind(path)
        if kind == "fits-image":
            return Preview(kind, image=True)
    if kind == "image":
        return Preview(kind, image=True)
    if kind == "text":
        return _text(path)
    if kind == "json":
        return _json(path)
    try:
        return Preview(kind, table=tables.table_page(path, kind, page))
    except tables.TableProblem as problem:
        return Preview(kind, str(problem))


def png(path: Path, kind: str, stretch: str, interval: str) -> bytes:
    """The PNG of an image result (images.ImageProblem: it cannot be made). Blocking."""
    if kind == "fits-image":
        return images.fits_png(path, stretch, interval)
    return images.raster_png(path)
