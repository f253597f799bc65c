"""The IVOA schemas the tests validate against come from the checkout's own set-up (Debian's
python3-gavo, unpacked by scripts/ivoa-schemas.sh), never from a folder beside the checkout:
their XML catalog (scripts/schema_catalog.py) resolves every namespace innerspace emits and
the usual published locations to files that are there, and nothing in the project refers to
the folder the schemas used to come from."""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from tests.support.oai_samples import IVOA_NAMESPACES
from tests.support.paths import ROOT, load_script
from tests.support.xmlcheck import NAMESPACES, schema_folder

CATALOG = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"
# Published locations documents and other schemas name in xsi:schemaLocation or imports.
LOCATIONS = {
    "http://www.ivoa.net/xml/UWS/UWS-v1.1.xsd": "UWS.xsd",
    "http://www.ivoa.net/xml/VOResource/VOResource-v1.1.xsd": "VOResource.xsd",
    "http://www.ivoa.net/xml/VODataService/VODataService-v1.2.xsd": "VODataService.xsd",
    "http://www.ivoa.net/xml/TAPRegExt/TAPRegExt-v1.0.xsd": "TAPRegExt.xsd",
    "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd": "OAI-PMH.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd": "oai_dc.xsd",
    "https://www.w3.org/1999/xlink.xsd": "xlink.xsd",
}


def entries(folder: Path) -> dict[str, str]:
    return entries_of((folder / "catalog.xml").read_text(encoding="utf-8"))


def test_the_catalog_resolves_every_emitted_namespace_to_a_file_of_the_checkout() -> None:
    folder = schema_folder()
    assert folder.resolve().is_relative_to(ROOT) or "INNERSPACE_SCHEMAS" in os.environ
    mapped = entries(folder)
    for namespace in {*NAMESPACES.values(), *IVOA_NAMESPACES}:
        assert namespace in mapped, namespace
    for location, name in LOCATIONS.items():
        assert mapped.get(location) == name, location
    missing = {uri for uri in mapped.values() if not (folder / uri).is_file()}
    assert not missing, missing


def test_the_catalog_is_generated_from_the_files_alone(tmp_path: Path) -> None:
    """Written from the files' targetNamespace and imports, the same every time (a new
    python3-gavo needs no hand editing)."""
    folder = schema_folder()
    generate = load_script("schema_catalog").catalog
    assert generate(folder) == (folder / "catalog.xml").read_text(encoding="utf-8")
    (tmp_path / "UWS.xsd").write_bytes((folder / "UWS.xsd").read_bytes())
    only = entries_of(generate(tmp_path))
    assert only["http://www.ivoa.net/xml/UWS/v1.0"] == "UWS.xsd"
    assert set(only.values()) == {"UWS.xsd"}, "a file that is not there is never named"


def entries_of(text: str) -> dict[str, str]:
    """The catalog's `uri` entries: name -> file."""
    root = etree.fromstring(text.encode())
    return {str(node.get("name")): str(node.get("uri")) for node in root.iter(f"{CATALOG}uri")}


def test_nothing_refers_to_a_folder_beside_the_checkout() -> None:
    beside = "../" + "shared"  # written so, so that this file does not name it itself
    places = [ROOT / name for name in ("README.md", "Makefile", "pyproject.toml")]
    for folder in ("src", "tests", "scripts", "docs", "examples"):
        places += [path for path in (ROOT / folder).rglob("*") if path.is_file()
                   and path.suffix in {".py", ".sh", ".md", ".toml", ".cfg", ".mjs", ".txt"}]
    found = [str(path.relative_to(ROOT)) for path in places
             if beside in (text := path.read_text(errors="replace"))
             or "INNERSPACE_" + "SHARED" in text]
    assert found == []
