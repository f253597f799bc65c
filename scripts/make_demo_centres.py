"""Data and configuration for the demo's two data centres, North and South.

Each gets real data: the objects of the OpenNGC catalogue (14,033 NGC/IC objects, from the
pyongc package) of its own celestial hemisphere, as the catalogue.csv of its HTTP file
service; and a data collection of three images, which are synthetic (star fields with noise
and a WCS, made here), north-sky or south-sky. Writes DIR/<centre>/{files,images} and
DIR/<centre>.toml, the service configuration with absolute paths.
"""

import csv
import importlib.util
import sys
from pathlib import Path

from pyongc import ongc

CENTRES = {
    "north": {"port": 8000, "collection": "north-sky", "dec_sign": 1, "ra": 10.68},
    "south": {"port": 8001, "collection": "south-sky", "dec_sign": -1, "ra": 83.82},
}


def degrees(sexagesimal: object) -> tuple[float, float] | None:
    try:
        (h, m, s), (d, dm, ds) = sexagesimal  # type: ignore[misc]
    except (TypeError, ValueError):
        return None
    sign = -1 if d < 0 or str(d).startswith("-") else 1
    return 15 * (h + m / 60 + s / 3600), sign * (abs(d) + dm / 60 + ds / 3600)


def main(base: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_demo_fits", Path(__file__).with_name("make_demo_fits.py"))
    assert spec and spec.loader
    images = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(images)
    objects = []
    for obj in ongc.listObjects():
        position = degrees(getattr(obj, "coords", None))
        if position is not None:
            objects.append((obj.name, obj.type, *position))
    for name, centre in CENTRES.items():
        root = base / name
        files, collection = root / "files", root / "images" / centre["collection"]
        files.mkdir(parents=True, exist_ok=True)
        collection.mkdir(parents=True, exist_ok=True)
        with (files / "catalogue.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["name", "type", "ra", "dec"])
            for row in objects:
                if (row[3] >= 0) == (centre["dec_sign"] > 0):
                    writer.writerow([row[0], row[1], f"{row[2]:.5f}", f"{row[3]:.5f}"])
        for index in range(3):
            images.make(str(collection / f"field-{index}.fits"), size=128,
                        stars=20 + 15 * index, seed=centre["port"] + index)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        (base / f"{name}.toml").write_text(f"""\
# The demo's {name} data centre (written by scripts/make_demo_centres.py).
public_url = "http://127.0.0.1:{centre['port']}"
{'harvest = ["http://127.0.0.1:8001/registry/oai"]' if name == 'north' else ''}

[repository]
url = "http://127.0.0.1:5000"
namespace = "innerspace"

[datacentre]
authority = "ivo://{name}.demo.innerspace"
name = "innerspace demo: {name.title()}"
short_name = "{name}"
publisher = "innerspace demo"
contact = {{ name = "innerspace demo operators", email = "operators@demo.innerspace.invalid" }}
description = "A demo data centre holding the OpenNGC objects of the {name}ern sky."
inner_network = "innerspace-{name}"

[[datacentre.inner_apis]]
name = "files"
kind = "http-files"
url = "http://files.{name}:8080/"
description = "nginx serving the data centre's catalogue files"

[[datacentre.inner_apis]]
name = "images"
kind = "posix-collection"
path = "{root / 'images' / centre['collection']}"
collections = ["{centre['collection']}"]
""")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".run/centres").resolve())
