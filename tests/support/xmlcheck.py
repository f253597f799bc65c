"""Offline validation of innerspace's XML documents against the IVOA schemas of Debian's
python3-gavo (scripts/ivoa-schemas.sh unpacks them and writes their XML catalog; imports are
resolved through that catalog, never the network)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from tests.support.paths import RUN, SCHEMAS, SCRIPTS

NAMESPACES = {
    "uws": "http://www.ivoa.net/xml/UWS/v1.0",
    "vosi-capabilities": "http://www.ivoa.net/xml/VOSICapabilities/v1.0",
    "vosi-availability": "http://www.ivoa.net/xml/VOSIAvailability/v1.0",
    "vs": "http://www.ivoa.net/xml/VODataService/v1.1",
    "vr": "http://www.ivoa.net/xml/VOResource/v1.0",
    "ri": "http://www.ivoa.net/xml/RegistryInterface/v1.0",
    "vg": "http://www.ivoa.net/xml/VORegistry/v1.0",
    "tr": "http://www.ivoa.net/xml/TAPRegExt/v1.0",
}


_fetching = threading.Lock()


def schema_folder() -> Path:
    """The folder of the IVOA schemas and their catalog.xml. `make setup` fetches them; a
    checkout where it has not run gets them now (scripts/ivoa-schemas.sh, once), and a
    machine that cannot fetch them fails here, saying why: no test skips for want of them."""
    with _fetching:  # the threads of this process, then other processes (xdist workers)
        if (SCHEMAS / "catalog.xml").is_file():
            return SCHEMAS
        RUN.mkdir(exist_ok=True)
        with (RUN / "ivoa-schemas.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (SCHEMAS / "catalog.xml").is_file():
                done = subprocess.run(["bash", str(SCRIPTS / "ivoa-schemas.sh")],
                                      capture_output=True, text=True, timeout=600, check=False)
                assert (SCHEMAS / "catalog.xml").is_file(), (
                    f"no IVOA schemas at {SCHEMAS}: scripts/ivoa-schemas.sh (run by `make "
                    f"setup`) fetches them from Debian's python3-gavo, and said:\n"
                    f"{done.stdout}{done.stderr}")
    return SCHEMAS


def child(element: Any, path: str) -> Any:
    """The element at `path` below `element`, which must be there."""
    found = element.find(path)
    assert found is not None, f"no {path} in <{element.tag}>"
    return found


class SchemaSet:
    """One compiled schema importing every namespace, so mixed documents validate too."""

    def __init__(self, schemas: Path) -> None:
        os.environ["XML_CATALOG_FILES"] = str(schemas / "catalog.xml")
        from lxml import etree

        self._etree = etree
        self.parser = etree.XMLParser(no_network=True)
        imports = "".join(
            f'<xs:import namespace="{ns}" schemaLocation="{ns}"/>' for ns in NAMESPACES.values())
        driver = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
        self.schema = etree.XMLSchema(etree.XML(driver.encode(), self.parser))

    def validate_registry(self, resource: bytes) -> Any:
        """Validate one `ri:Resource` element (a registry record) on its own."""
        wrapped = (b'<ri:VOResources xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0"'
                   b' from="1" numberReturned="1" more="false">' + resource
                   + b"</ri:VOResources>")
        return self.validate(wrapped)

    def validate(self, document: bytes) -> Any:
        """Parse and validate; raise AssertionError with the schema's complaint."""
        root = self._etree.fromstring(document, self.parser)
        if not self.schema.validate(root):
            raise AssertionError(f"invalid XML: {self.schema.error_log}\n{document[:2000]!r}")
        return root
