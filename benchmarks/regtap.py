"""Benchmark 7: the RegTAP registry with 10,000 synthetic resources. Builds the index (a
SQLite file), serves it with uvicorn in its own process, and times typical
pyvo.registry.search calls over HTTP (keywords, service type, both, ivoid, author), median of
20 each. Target: < 300 ms median for each kind of search."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import free_port, summary, wait_until_up  # noqa: E402

NS = ('xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
      'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" '
      'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
      'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
TOPICAL = ("galaxy", "galaxies", "star", "stars", "quasar", "quasars", "cluster", "nebula",
           "spectra", "spectrum", "photometry", "astrometry", "redshift", "survey", "catalogue",
           "images", "radio", "infrared", "optical", "ultraviolet", "x-ray", "gamma-ray",
           "variable", "binary", "pulsar", "supernova", "exoplanet", "transit", "dwarf", "giant",
           "halo", "disk", "bulge", "dust", "molecular", "cloud", "magnitude", "colour",
           "proper", "motion", "parallax", "velocity", "dispersion", "metallicity", "abundance",
           "lensing", "cosmology", "microwave", "background", "deep", "wide", "epoch", "release",
           "archive", "observations", "telescope", "instrument")
SUBJECTS = ("galaxies", "stars", "quasars", "star clusters", "interstellar medium",
            "exoplanets", "variable stars", "cosmology", "surveys", "radio astronomy",
            "infrared astronomy", "x-ray astronomy", "gamma-ray bursts", "supernovae",
            "astrometry", "photometry", "spectroscopy", "solar system", "milky way")


def _pseudo_words(count: int, seed: int = 11) -> list[str]:
    """Filler vocabulary: made-up words, so that topical words are as rare as in the VO."""
    rng = random.Random(seed)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    return sorted({"".join(rng.choice(syllables) for _ in range(rng.randrange(2, 4)))
                   for _ in range(count)})


FILLER = _pseudo_words(4000)
BANDS = ("radio", "millimeter", "infrared", "optical", "uv", "x-ray", "gamma-ray")
KINDS = (  # (share, resource type, capabilities)
    (30, "vs:CatalogService", ("ivo://ivoa.net/std/ConeSearch",)),
    (12, "vs:CatalogService", ("tap",)),
    (8, "vs:CatalogService", ("ivo://ivoa.net/std/SIA#query-2.0",)),
    (8, "vs:CatalogService", ("ivo://ivoa.net/std/SSA",)),
    (27, "vs:CatalogResource", ("ivo://ivoa.net/std/TAP#aux",)),
    (5, "vr:Service", ("ivo://ivoa.net/std/UWS#rest-1.1", "ivo://ivoa.net/std/VOSI#capabilities",
                       "ivo://ivoa.net/std/VOSI#availability")),
    (5, "vr:Organisation", ()),
    (5, "vs:DataCollection", ()),
)


def _word(rng: random.Random, topical: float = 0.03) -> str:
    return rng.choice(TOPICAL) if rng.random() < topical else rng.choice(FILLER)


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(_word(rng) for _ in range(words)).capitalize() + "."


def _capability(standard: str, url: str) -> str:
    if standard == "tap":
        return (f'<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">'
                f'<interface xsi:type="vs:ParamHTTP" role="std" version="1.1">'
                f'<accessURL use="base">{url}</accessURL></interface>'
                f'<dataModel ivo-id="ivo://ivoa.net/std/ObsCore#core-1.1">ObsCore-1.1'
                f'</dataModel><language><name>ADQL</name><version>2.0</version></language>'
                f'<outputFormat><mime>application/x-votable+xml</mime></outputFormat>'
                f'</capability>')
    return (f'<capability standardID={quoteattr(standard)}><interface xsi:type="vs:ParamHTTP" '
            f'role="std"><accessURL use="base">{url}</accessURL>'
            f'<queryType>GET</queryType></interface></capability>')


def synthetic_record(number: int, rng: random.Random) -> tuple[str, bytes]:
    """One deterministic, realistic-looking resource record."""
    pick = number % 100
    res_type, capabilities = KINDS[-1][1:]
    for share, kind, standards in KINDS:
        if pick < share:
            res_type, capabilities = kind, standards
            break
        pick -= share
    authority = f"org{number % 97}.example"
    ivoid = f"ivo://{authority}/res/{number}"
    base = f"https://{authority}/svc/{number}"
    title = " ".join(_word(rng, 0.2) for _ in range(4)).capitalize() + f" {number}"
    creators = "".join(f"<creator><name>Author{rng.randrange(2000)}, {chr(65 + rng.randrange(26))}."
                       f"</name></creator>" for _ in range(rng.randrange(1, 4)))
    subjects = "".join(f"<subject>{rng.choice(SUBJECTS) if rng.random() < 0.1 else _word(rng)}"
                       f"</subject>" for _ in range(3))
    description = " ".join(_sentence(rng, rng.randrange(8, 20)) for _ in range(4))
    body = [f'<ri:Resource {NS} xsi:type="{res_type}" created="2015-01-01T00:00:00Z" '
            f'updated="2026-01-{1 + number % 28:02d}T00:00:00Z" status="active">',
            f"<title>{escape(title)}</title><shortName>R{number}</shortName>",
            f"<identifier>{ivoid}</identifier>",
            f"<curation><publisher>Publisher of {authority}</publisher>{creators}"
            f"<contact><name>Help desk {authority}</name><email>help@{authority}</email>"
            f"</contact></curation>",
            f"<content>{subjects}<description>{escape(description)}</description>"
            f"<referenceURL>{base}/info</referenceURL><type>Catalog</type>"
            f"<contentLevel>Research</contentLevel></content>"]
    body += [_capability(s, f"{base}/{i}") for i, s in enumerate(capabilities)]
    if res_type.startswith("vs:"):
        bands = "".join(f"<waveband>{b}</waveband>" for b in rng.sample(BANDS, 2))
        body.append(f"<coverage>{bands}</coverage>")
    if res_type in ("vs:CatalogService", "vs:CatalogResource"):
        tables = []
        for t in range(rng.randrange(1, 3)):
            columns = "".join(
                f"<column><name>col{c}</name><description>{_sentence(rng, 5)}</description>"
                f"<ucd>{rng.choice(('pos.eq.ra', 'pos.eq.dec', 'phot.mag', 'src.redshift'))}"
                f"</ucd><dataType xsi:type=\"vs:VOTableType\">double</dataType></column>"
                for c in range(5))
            tables.append(f"<table><name>s{number}.t{t}</name><description>"
                          f"{_sentence(rng, 8)}</description>{columns}</table>")
        body.append(f"<tableset><schema><name>s{number}</name>{''.join(tables)}</schema>"
                    f"</tableset>")
    body.append("</ri:Resource>")
    return ivoid, "".join(body).encode()


def synthetic_records(count: int, seed: int = 7) -> list[Any]:
    from innerspace.registry.records import Record

    rng = random.Random(seed)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return [Record(ivoid, xml, when) for ivoid, xml in
            (synthetic_record(n, rng) for n in range(count))]


def make_app() -> Any:
    """The app the benchmark serves (uvicorn --factory): the index file from the env."""
    from types import SimpleNamespace

    from fastapi import FastAPI

    from innerspace.config import Auth
    from innerspace.registry.regtap import RegTAPIndex
    from innerspace.registry.regtap.routes import PATH, error_renderer, router
    from innerspace.web import errors

    app = FastAPI()
    app.state.settings = SimpleNamespace(public_url=None, auth=Auth())
    app.state.services = SimpleNamespace(
        regtap=RegTAPIndex(os.environ["INNERSPACE_REGTAP_DB"]))
    app.include_router(router, prefix=PATH)
    renderers = errors.ErrorRenderers()
    renderers.register(PATH, error_renderer)
    errors.install(app, renderers)
    return app


SEARCHES: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "keywords": ((), {"keywords": "quasar"}),
    "two_keywords": ((), {"keywords": ["gamma-ray", "pulsar"]}),
    "servicetype_tap": ((), {"servicetype": "tap"}),
    "servicetype_sia2": ((), {"servicetype": "sia2"}),
    "keywords_and_servicetype": ((), {"keywords": "galaxy", "servicetype": "scs"}),
    "ivoid": ((), {"ivoid": f"ivo://org{5000 % 97}.example/res/5000"}),
    "author": ((), {"author": "Author123%"}),
    # The same result size at any scale (MAXREC): what a search costs the service apart from
    # returning more rows because there are more to find.
    "servicetype_tap_maxrec_1000": ((), {"servicetype": "tap", "maxrec": 1000}),
    "servicetype_sia2_maxrec_700": ((), {"servicetype": "sia2", "maxrec": 700}),
    "keywords_maxrec_500": ((), {"keywords": "quasar", "maxrec": 500}),
}


def run(count: int = 10_000, repeats: int = 20) -> dict[str, Any]:
    from pyvo import registry

    from innerspace.registry.regtap import RegTAPIndex

    workdir = Path(tempfile.mkdtemp(prefix="innerspace-regtap-bench-"))
    database = workdir / "regtap.sqlite"
    records = synthetic_records(count)
    start = time.perf_counter()
    report = RegTAPIndex(database).load(records)
    load_seconds = time.perf_counter() - start
    assert report.loaded == count, report
    port = free_port()
    env = {**os.environ, "INNERSPACE_REGTAP_DB": str(database), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.regtap:make_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/registry/tap"
    try:
        wait_until_up(f"{url}/availability", process)
        registry.choose_RegTAP_service(url)
        registry.regtap.get_RegTAP_service().get_tap_capability()  # cached by pyvo
        searches: dict[str, Any] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, (args, kwargs) in SEARCHES.items():
                timings, found = [], 0
                for _ in range(repeats):
                    begin = time.perf_counter()
                    found = len(registry.search(*args, **kwargs))
                    timings.append(time.perf_counter() - begin)
                searches[name] = {"query": kwargs, "matches": found, "seconds": summary(timings)}
    finally:
        process.terminate()
        process.wait(10)
    result = {"resources": count, "load_seconds": round(load_seconds, 2),
              "database_bytes": database.stat().st_size, "searches": searches,
              "target": "median < 0.300 s for each search"}
    result["met"] = all(s["seconds"]["median"] < 0.300 for s in searches.values())
    shutil.rmtree(workdir)  # the database and its WAL files
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
