"""Offline validation of innerspace's XML documents against the IVOA schemas in
../shared/schemas (resolved through its XML catalog, never the network)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
