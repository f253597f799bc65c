"""Entry point: `python3 -m survey_summary`. Reads the images of one data collection (a
read-only mount) and the catalogue of the data centre's HTTP file service (over the inner
network), and writes summary.json. The same image gives each data centre's own answer."""

import collections
import csv
import io
import json
import urllib.request

import numpy as np
from astropy.io import fits

from innerspace import runtime


def main() -> None:
    name = runtime.params()["collection"]
    images_dir = runtime.data_path(name)
    runtime.progress(0.1, f"reading the images of {name}")
    images = []
    for path in sorted(images_dir.glob("*.fits")):
        data = fits.getdata(path).astype(float)
        images.append({"file": path.name, "shape": list(data.shape),
                       "median": float(np.median(data)), "max": float(data.max())})
    files = runtime.service("http-files")
    runtime.progress(0.5, f"reading the catalogue from {files['url']}")
    with urllib.request.urlopen(files["url"] + "catalogue.csv", timeout=30) as answer:
        rows = list(csv.DictReader(io.StringIO(answer.read().decode())))
    kinds = collections.Counter(row["type"] for row in rows)
    declinations = [float(row["dec"]) for row in rows]
    summary = {
        "collection": name,
        "images": images,
        "catalogue": {"source": files["url"] + "catalogue.csv", "objects": len(rows),
                      "dec_range": [min(declinations), max(declinations)] if rows else None,
                      "commonest_types": kinds.most_common(5)},
    }
    runtime.write_result("summary.json", json.dumps(summary, indent=2) + "\n")
    runtime.progress(1.0, "done")
    print(f"survey-summary: {len(images)} images in {name}, {len(rows)} catalogue objects")


if __name__ == "__main__":
    main()
