"""Write two small catalogues for the xmatch demo and tests: a primary list of sources
taken from a real catalogue when one is at hand (here: synthetic positions around M31 with
magnitudes), and a secondary list of the same sources re-measured with small astrometric
errors plus unrelated field sources. The data are synthetic, not an observation."""

import sys

import numpy as np
from astropy.table import Table


def make(primary_path: str, secondary_path: str, count: int = 200, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    ra = 10.6847 + rng.uniform(-0.25, 0.25, count)
    dec = 41.2690 + rng.uniform(-0.25, 0.25, count)
    primary = Table({"id": np.arange(count), "RA": ra, "DEC": dec,
                     "mag": rng.uniform(14, 20, count)})
    primary["RA"].unit = primary["DEC"].unit = "deg"
    found = rng.random(count) < 0.8  # 80 % of the sources are seen again
    jitter = 0.3 / 3600  # 0.3 arcsec astrometric error
    extra = 50
    secondary = Table({
        "name": [f"S{i:04d}" for i in range(int(found.sum()) + extra)],
        "RAJ2000": np.concatenate([ra[found] + rng.normal(0, jitter, found.sum())
                                   / np.cos(np.radians(dec[found])),
                                   10.6847 + rng.uniform(-0.25, 0.25, extra)]),
        "DEJ2000": np.concatenate([dec[found] + rng.normal(0, jitter, found.sum()),
                                   41.2690 + rng.uniform(-0.25, 0.25, extra)]),
    })
    secondary["RAJ2000"].unit = secondary["DEJ2000"].unit = "deg"
    primary.write(primary_path, format="votable", overwrite=True)
    secondary.write(secondary_path, format="fits", overwrite=True)


if __name__ == "__main__":
    make(*(sys.argv[1:3] if len(sys.argv) > 2 else ("primary.vot", "secondary.fits")))
