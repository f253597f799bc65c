"""Write a synthetic FITS image for the demo: Gaussian stars on a sky background with noise,
a TAN WCS near M31, and a small second HDU. The data are synthetic, not an observation."""

import sys

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS


def make(path: str, size: int = 256, stars: int = 60, seed: int = 42) -> None:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    image = rng.normal(100.0, 5.0, (size, size))
    for _ in range(stars):
        cx, cy = rng.uniform(0, size, 2)
        flux = rng.lognormal(7, 1)
        sigma = rng.uniform(1.2, 2.5)
        image += flux / (2 * np.pi * sigma**2) * np.exp(
            -((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.6847, 41.2690]
    wcs.wcs.crpix = [size / 2, size / 2]
    wcs.wcs.cdelt = [-0.0003, 0.0003]
    header = wcs.to_header()
    header["OBJECT"] = "synthetic field"
    header["COMMENT"] = "Synthetic data made by innerspace's demo; not an observation."
    primary = fits.PrimaryHDU(image.astype(np.float32), header=header)
    weights = fits.ImageHDU(np.ones((size // 4, size // 4), dtype=np.float32), name="WEIGHT")
    fits.HDUList([primary, weights]).writeto(path, overwrite=True)


if __name__ == "__main__":
    make(sys.argv[1] if len(sys.argv) > 1 else "demo.fits")
