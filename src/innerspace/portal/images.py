"""Images of results as PNG for the job page: FITS images rendered with a stretch and an
interval (astropy.visualization), and other raster images re-encoded (Pillow), so that the
page shows pixels the service wrote, never the app's bytes as they are.

Both are bounded: a FITS image of more than MAX_PIXELS is read one pixel in `step` along
each axis (from a memory map), a raster image of more than MAX_PIXELS is refused (Pillow
reads the dimensions first), and any failure to read is an ImageProblem with the reason."""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

MAX_PIXELS = 4_000_000  # of the PNG: larger images are downsampled (FITS) or refused
MAX_SOURCE_PIXELS = 400_000_000  # a FITS image claiming more is not even looked at
STRETCHES = ("linear", "sqrt", "log", "asinh")
INTERVALS = ("zscale", "minmax")


class ImageProblem(Exception):
    """The file cannot be shown as an image; the message says why."""


def _png(pixels: Any, mode: str = "L") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels, mode=mode).save(out, format="PNG", optimize=False)
    return out.getvalue()


def _image_hdu(hdus: Any) -> Any:
    for hdu in hdus:
        shape = getattr(hdu, "shape", None) if hdu.is_image else None
        if shape and len(shape) >= 2:
            return hdu
    return None


def fits_png(path: Path, stretch: str = "asinh", interval: str = "zscale") -> bytes:
    """The first 2-D (or the first plane of a 3-D...) image of the FITS file as PNG."""
    from astropy.io import fits
    from astropy.visualization import (
        AsinhStretch,
        LinearStretch,
        LogStretch,
        MinMaxInterval,
        SqrtStretch,
        ZScaleInterval,
    )

    stretches = {"linear": LinearStretch, "sqrt": SqrtStretch, "log": LogStretch,
                 "asinh": AsinhStretch}
    intervals = {"zscale": ZScaleInterval, "minmax": MinMaxInterval}
    if stretch not in stretches or interval not in intervals:
        raise ImageProblem(f"stretch must be one of {', '.join(STRETCHES)} and interval "
                           f"one of {', '.join(INTERVALS)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=True, lazy_load_hdus=True) as hdus:
                hdu = _image_hdu(hdus)
                if hdu is None:
                    raise ImageProblem("the FITS file holds no image")
                shape = tuple(int(n) for n in hdu.shape)
                if math.prod(shape) > MAX_SOURCE_PIXELS:
                    raise ImageProblem(f"the image is too large to preview "
                                       f"({'x'.join(map(str, shape))} pixels)")
                height, width = shape[-2], shape[-1]
                step = max(1, math.ceil(math.sqrt(height * width / MAX_PIXELS)))
                plane = hdu.data
                while plane.ndim > 2:
                    plane = plane[0]
                data = np.array(plane[::step, ::step], dtype=np.float64)
    except ImageProblem:
        raise
    except MemoryError:
        raise ImageProblem("the image is too large to read") from None
    except Exception as exc:  # untrusted bytes: any failure of the reader is a message
        raise ImageProblem(f"the file could not be read as a FITS image: "
                           f"{type(exc).__name__}: {str(exc)[:300]}") from None
    finite = np.isfinite(data)
    if not finite.any():
        raise ImageProblem("the image has no finite pixel values")
    data[~finite] = np.nanmin(data[finite])
    try:
        # The interval and stretch by hand: ImageNormalize would need matplotlib.
        low, high = intervals[interval]().get_limits(data)
        span = float(high - low) or 1.0
        unit = np.clip((data - low) / span, 0.0, 1.0)
        scaled = np.nan_to_num(np.asarray(stretches[stretch]()(unit, clip=True)), nan=0.0)
    except Exception as exc:
        raise ImageProblem(f"the image could not be scaled: {exc}") from None
    # FITS rows go up from the bottom; PNG rows go down from the top.
    pixels = (np.flipud(scaled) * 255).clip(0, 255).astype(np.uint8)
    return _png(pixels)


def raster_png(path: Path) -> bytes:
    """A PNG, JPEG, GIF or WebP file re-encoded as PNG (its first frame)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ImageProblem(f"the image is too large to preview "
                                       f"({image.width}x{image.height} pixels)")
                image.seek(0)
                converted = image.convert("RGBA" if "A" in image.getbands() else "RGB")
                out = io.BytesIO()
                converted.save(out, format="PNG")
                return out.getvalue()
    except ImageProblem:
        raise
    except Exception as exc:  # untrusted bytes: any failure of the reader is a message
        raise ImageProblem(f"the file could not be read as an image: "
                           f"{type(exc).__name__}: {str(exc)[:300]}") from None
