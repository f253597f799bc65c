"""Entry point: `python3 -m fits_stats FILE --stretch=asinh`.

Writes stats.json (for every HDU with data: shape, min, max, mean, median, std, ignoring
NaNs) and preview.png (the first 2-D image, or the middle plane of a cube).
"""

import argparse
import json
import sys

import matplotlib
import numpy as np
from astropy.io import fits

from innerspace import runtime

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from astropy.visualization import (
    AsinhStretch,
    ImageNormalize,
    LinearStretch,
    LogStretch,
    ZScaleInterval,
)

STRETCHES = {"linear": LinearStretch, "log": LogStretch, "asinh": AsinhStretch}


def hdu_stats(index: int, hdu: fits.hdu.base.ExtensionHDU) -> dict:
    data = hdu.data
    entry = {"index": index, "name": hdu.name, "type": type(hdu).__name__}
    if data is None:
        entry["shape"] = None
        return entry
    if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
        entry["shape"] = [len(data)]
        entry["columns"] = list(data.columns.names)
        return entry
    values = np.asarray(data, dtype=float)
    finite = values[np.isfinite(values)]
    entry["shape"] = list(values.shape)
    entry["finite_pixels"] = int(finite.size)
    if finite.size:
        entry.update(min=float(finite.min()), max=float(finite.max()),
                     mean=float(finite.mean()), median=float(np.median(finite)),
                     std=float(finite.std()))
    return entry


def preview(data: np.ndarray, stretch: str, title: str) -> None:
    image = np.asarray(data, dtype=float)
    while image.ndim > 2:
        image = image[image.shape[0] // 2]
    norm = ImageNormalize(image, interval=ZScaleInterval(), stretch=STRETCHES[stretch]())
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    ax.imshow(image, origin="lower", cmap="gray", norm=norm)
    ax.set_title(title)
    ax.set_xlabel("x (pixel)")
    ax.set_ylabel("y (pixel)")
    fig.savefig(runtime.result_path("preview.png"), bbox_inches="tight")
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("image")
    parser.add_argument("--stretch", choices=sorted(STRETCHES), default="asinh")
    args = parser.parse_args()
    runtime.progress(0.0, f"reading {args.image}")
    try:
        hdul = fits.open(args.image, memmap=False)
    except (OSError, ValueError) as exc:
        print(f"fits-stats: {args.image} is not a readable FITS file: {exc}", file=sys.stderr)
        return 2
    with hdul:
        stats = [hdu_stats(i, hdu) for i, hdu in enumerate(hdul)]
        runtime.write_result("stats.json", json.dumps({"hdus": stats}, indent=2) + "\n")
        runtime.progress(0.6, "statistics written")
        images = [hdu for hdu in hdul
                  if hdu.data is not None and getattr(hdu, "is_image", False)
                  and np.asarray(hdu.data).ndim >= 2]
        if images:
            preview(images[0].data, args.stretch, f"{images[0].name} ({args.stretch})")
    runtime.progress(1.0, "done")
    print(f"fits-stats: {len(stats)} HDUs analysed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
