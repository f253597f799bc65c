"""Entry point: `python3 -m xmatch PRIMARY SECONDARY --radius=1.0 --keep-unmatched=false`.

Reads both tables with astropy (VOTable, FITS, ECSV, CSV), finds the position columns
(UCD pos.eq.ra/dec, or common names such as RA/DEC, RAJ2000/DEJ2000, ra/dec), matches every
primary source to its nearest secondary source on the sky, and writes matches.vot,
summary.json and separations.png.
"""

from __future__ import annotations

import argparse
import json
import sys

import astropy.units as u
import matplotlib
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, Table, hstack

from innerspace import runtime

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RA_NAMES = ("ra", "raj2000", "_raj2000", "ra_icrs", "radeg", "alpha_j2000", "ra_deg")
DEC_NAMES = ("dec", "dej2000", "_dej2000", "decj2000", "de_icrs", "dedeg", "delta_j2000",
             "dec_deg")


def read_table(path: str) -> Table:
    for options in ({}, {"format": "ascii.csv"}, {"format": "ascii"}):
        try:
            return Table.read(path, **options)
        except Exception:  # astropy raises many kinds; try the next reader
            continue
    raise ValueError(f"{path} is not a table astropy can read (VOTable, FITS, ECSV, CSV)")


def position_columns(table: Table, label: str) -> tuple[str, str]:
    by_ucd = {}
    for name in table.colnames:
        ucd = (getattr(table[name].info, "meta", None) or {}).get("ucd", "") or ""
        ucd = ucd.lower()
        if "pos.eq.ra" in ucd and "meta.main" in ucd:
            by_ucd.setdefault("ra", name)
        elif "pos.eq.dec" in ucd and "meta.main" in ucd:
            by_ucd.setdefault("dec", name)
    if "ra" in by_ucd and "dec" in by_ucd:
        return by_ucd["ra"], by_ucd["dec"]
    lowered = {name.lower(): name for name in table.colnames}
    ra = next((lowered[n] for n in RA_NAMES if n in lowered), None)
    dec = next((lowered[n] for n in DEC_NAMES if n in lowered), None)
    if ra is None or dec is None:
        raise ValueError(f"the {label} table has no recognisable RA/Dec columns "
                         f"(columns: {', '.join(table.colnames)})")
    return ra, dec


def coordinates(table: Table, ra: str, dec: str) -> SkyCoord:
    def degrees(name: str) -> u.Quantity:
        column = table[name]
        unit = column.unit or u.deg
        return u.Quantity(np.asarray(column, dtype=float), unit).to(u.deg)

    return SkyCoord(degrees(ra), degrees(dec), frame="icrs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("primary")
    parser.add_argument("secondary")
    parser.add_argument("--radius", type=float, default=1.0, help="arcsec")
    parser.add_argument("--keep-unmatched", default="false")
    args = parser.parse_args()
    keep = args.keep_unmatched.lower() == "true"
    try:
        primary, secondary = read_table(args.primary), read_table(args.secondary)
        p_ra, p_dec = position_columns(primary, "primary")
        s_ra, s_dec = position_columns(secondary, "secondary")
    except ValueError as exc:
        print(f"xmatch: {exc}", file=sys.stderr)
        return 2
    runtime.progress(0.1, f"matching {len(primary)} against {len(secondary)} sources")
    p_coords = coordinates(primary, p_ra, p_dec)
    s_coords = coordinates(secondary, s_ra, s_dec)
    index, separation, _ = p_coords.match_to_catalog_sky(s_coords)
    separation_arcsec = separation.to(u.arcsec).value
    matched = separation_arcsec <= args.radius
    runtime.progress(0.6, f"{int(matched.sum())} matches within {args.radius} arcsec")

    rows = np.arange(len(primary)) if keep else np.flatnonzero(matched)
    left = primary[rows]
    right = secondary[index[rows]]
    if keep:
        for name in right.colnames:
            right[name] = MaskedColumn(right[name], mask=~matched[rows])
    result = hstack([left, right], table_names=["1", "2"], uniq_col_name="{col_name}_{table_name}")
    sep = MaskedColumn(separation_arcsec[rows], name="separation", unit=u.arcsec,
                       mask=~matched[rows] if keep else None,
                       description="angular distance to the secondary source")
    result.add_column(sep)
    result.meta["description"] = (f"Cross-match within {args.radius} arcsec "
                                  "(innerspace xmatch)")
    result.write(runtime.result_path("matches.vot"), format="votable", overwrite=True)

    good = separation_arcsec[matched]
    summary = {
        "primary_rows": len(primary), "secondary_rows": len(secondary),
        "radius_arcsec": args.radius, "matches": int(matched.sum()),
        "match_fraction": float(matched.mean()) if len(primary) else 0.0,
        "separation_arcsec": ({"median": float(np.median(good)), "max": float(good.max()),
                               "mean": float(good.mean())} if good.size else None),
        "columns": {"primary": [p_ra, p_dec], "secondary": [s_ra, s_dec]},
    }
    runtime.write_result("summary.json", json.dumps(summary, indent=2) + "\n")

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.hist(good, bins=min(50, max(5, good.size // 5 or 5)), color="tab:blue")
    ax.set_xlabel("separation (arcsec)")
    ax.set_ylabel("matches")
    ax.set_title(f"{good.size} matches within {args.radius} arcsec")
    fig.savefig(runtime.result_path("separations.png"), bbox_inches="tight")
    plt.close(fig)
    runtime.progress(1.0, "done")
    print(f"xmatch: {summary['matches']} of {len(primary)} primary sources matched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
