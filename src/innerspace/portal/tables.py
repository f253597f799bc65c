"""Result tables as paged HTML tables: FITS binary/ASCII tables, VOTable, CSV and ECSV,
read with astropy, 50 rows a page, each column with its unit and UCD when the file gives
them. Files come from apps, so from anyone: a file above MAX_TABLE_BYTES is not read (the
page says so and offers the download), and any failure to read one is a message."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROWS_PER_PAGE = 50
MAX_TABLE_BYTES = 32 * 1024 * 1024
MAX_COLUMNS = 200  # columns shown; more are counted
MAX_CELL = 200  # characters of one cell

TABLE_KINDS = ("fits-table", "votable", "csv", "ecsv")


class TableProblem(Exception):
    """The file cannot be shown as a table; the message says why."""


@dataclass(frozen=True)
class Column:
    name: str
    unit: str | None = None
    ucd: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class TablePage:
    """One page of a table: its columns, rows (as text), and where it is in the table."""

    columns: list[Column]
    rows: list[list[str]]
    page: int
    pages: int
    total_rows: int
    hidden_columns: int = 0
    name: str | None = None


def _cell(value: Any) -> str:
    if value is None or value is np.ma.masked:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    text = str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"


def _read(path: Path, kind: str) -> tuple[Any, dict[str, str]]:
    """The astropy Table in `path`, and the UCDs of its columns (VOTable fields)."""
    from astropy.table import Table

    ucds: dict[str, str] = {}
    if kind == "votable":
        from astropy.io.votable import parse

        votable = parse(str(path), verify="ignore")
        first = votable.get_first_table()
        ucds = {f.name: f.ucd for f in first.fields if f.ucd}
        return first.to_table(use_names_over_ids=True), ucds
    if kind == "fits-table":
        from astropy.io import fits

        with fits.open(path, memmap=True) as hdus:
            for index, hdu in enumerate(hdus):
                if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
                    table = Table.read(hdus, hdu=index, memmap=False)
                    header = hdu.header
                    for n in range(1, int(header.get("TFIELDS", 0)) + 1):
                        ucd = header.get(f"TUCD{n}")
                        if ucd and f"TTYPE{n}" in header:
                            ucds[str(header[f"TTYPE{n}"])] = str(ucd)
                    return table, ucds
        raise TableProblem("the FITS file holds no table")
    form = "ascii.ecsv" if kind == "ecsv" else "ascii.csv"
    return Table.read(path, format=form, guess=False), ucds


def table_page(path: Path, kind: str, page: int) -> TablePage:
    """Page `page` (from 1) of the table in `path` (TableProblem: it cannot be shown)."""
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise TableProblem(f"the file is too large to show as a table here "
                           f"({size:,} bytes; at most {MAX_TABLE_BYTES:,}): download it")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table, ucds = _read(path, kind)
    except TableProblem:
        raise
    except MemoryError:
        raise TableProblem("the table is too large to read") from None
    except Exception as exc:  # untrusted bytes: any failure of the reader is a message
        raise TableProblem(f"the file could not be read as a table: "
                           f"{type(exc).__name__}: {str(exc)[:300]}") from None
    total = len(table)
    pages = max(1, math.ceil(total / ROWS_PER_PAGE))
    page = min(max(1, page), pages)
    names = list(table.colnames)
    shown = names[:MAX_COLUMNS]
    columns = []
    for name in shown:
        column = table[name]
        unit = str(column.unit) if getattr(column, "unit", None) is not None else None
        meta_ucd = column.meta.get("ucd") if hasattr(column, "meta") else None
        columns.append(Column(name, unit or None, ucds.get(name) or meta_ucd,
                              getattr(column, "description", None) or None))
    start = (page - 1) * ROWS_PER_PAGE
    rows = [[_cell(table[name][i]) for name in shown]
            for i in range(start, min(total, start + ROWS_PER_PAGE))]
    return TablePage(columns, rows, page, pages, total, len(names) - len(shown),
                     getattr(table.meta, "get", lambda *_: None)("name"))
