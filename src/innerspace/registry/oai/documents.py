"""The pieces of OAI-PMH response documents: the envelope (responseDate, request), record
headers, records in ivo_vor (the stored VOResource element) or oai_dc (simple Dublin Core
derived from it), and the error document.

OAI elements carry the `oai:` prefix (RI's recommendation) rather than a default namespace:
VOResource children are unqualified, and under a default namespace they would change meaning.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from lxml import etree

from innerspace.registry.errors import RecordError
from innerspace.registry.oai.protocol import (
    DC_NS,
    OAI_DC_NS,
    OAI_DC_SCHEMA,
    OAI_NS,
    OAI_SCHEMA,
    SET_SYNTAX,
    datestamp,
)
from innerspace.registry.records import RI_NS, XSI_NS, XSI_TYPE, Record, safe_parser

log = logging.getLogger("innerspace.registry")


def oai(name: str) -> str:
    """The qualified tag of an OAI-PMH element."""
    return f"{{{OAI_NS}}}{name}"


def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    """A new OAI-PMH child element of `parent`, with `text`."""
    element = etree.SubElement(parent, oai(name))
    if text is not None:
        element.text = text
    return element


def envelope(base_url: str, now: datetime) -> tuple[etree._Element, etree._Element]:
    """The OAI-PMH root with responseDate, and its (still attribute-less) request element."""
    root = etree.Element(oai("OAI-PMH"), nsmap={"oai": OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} {OAI_SCHEMA}")
    sub(root, "responseDate", datestamp(now))
    return root, sub(root, "request", base_url)


def error_document(code: str, message: str, base_url: str,
                   now: datetime | None = None) -> bytes:
    """An OAI error response for a request whose arguments could not be read."""
    root, _ = envelope(base_url, now or datetime.now(UTC))
    sub(root, "error", message).set("code", code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def valid_sets(record: Record) -> list[str]:
    """The record's sets that OAI-PMH can name (setSpec syntax)."""
    return [s for s in record.sets if SET_SYNTAX.fullmatch(s)]


def add_header(parent: etree._Element, record: Record) -> None:
    """The record's header: identifier, datestamp, sets; status="deleted" if it is."""
    element = sub(parent, "header")
    if record.deleted:
        element.set("status", "deleted")
    sub(element, "identifier", record.ivoid)
    sub(element, "datestamp", datestamp(record.updated))
    for spec in valid_sets(record):
        sub(element, "setSpec", spec)


def add_record(parent: etree._Element, stored: Record, prefix: str) -> None:
    """The record in the format `prefix` names; a deleted record is its header alone."""
    element = sub(parent, "record")
    add_header(element, stored)
    if not stored.deleted:
        resource = resource_of(stored)
        metadata = sub(element, "metadata")
        metadata.append(resource if prefix == "ivo_vor" else dublin_core(resource))


def resource_of(stored: Record) -> etree._Element:
    """The record's ri:Resource element, freshly parsed. A broken stored record is the
    registry's fault (RecordError), and an operator's to mend: it is logged."""
    try:
        element = etree.fromstring(stored.xml, safe_parser())
    except etree.XMLSyntaxError as exc:
        problem = f"the XML of {stored.ivoid} is broken: {exc}"
    else:
        if element.tag == f"{{{RI_NS}}}Resource":
            return element
        problem = f"the XML of {stored.ivoid} is a {element.tag!s}, not ri:Resource"
    log.error("OAI-PMH: %s", problem)
    raise RecordError(problem)


def xsi_type(resource: etree._Element) -> tuple[str | None, str]:
    """The (namespace, local name) that the resource's xsi:type names."""
    value = (resource.get(XSI_TYPE) or "").strip()
    prefix, _, local = value.rpartition(":")
    return resource.nsmap.get(prefix or None), local


def _texts(resource: etree._Element, path: str) -> list[str]:
    found = (" ".join((e.text or "").split()) for e in resource.findall(path))
    return [text for text in found if text]


def dublin_core(resource: etree._Element) -> etree._Element:
    """Simple Dublin Core (oai_dc) derived from a VOResource record."""
    dc = etree.Element(f"{{{OAI_DC_NS}}}dc",
                       nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
    dc.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
    dates = _texts(resource, "curation/date") or [resource.get("updated", "").strip()]
    fields = [
        ("title", _texts(resource, "title")),
        ("identifier", _texts(resource, "identifier") + _texts(resource, "content/referenceURL")),
        ("creator", _texts(resource, "curation/creator/name")),
        ("subject", _texts(resource, "content/subject")),
        ("description", _texts(resource, "content/description")),
        ("publisher", _texts(resource, "curation/publisher")),
        ("contributor", _texts(resource, "curation/contributor")),
        ("date", [d for d in dates if d]),
        ("type", [t for t in [(resource.get(XSI_TYPE) or "").strip()] if t]
         + _texts(resource, "content/type")),
        ("source", _texts(resource, "content/source")),
        ("rights", _texts(resource, "rights")),
    ]
    for name, values in fields:
        for value in values:
            etree.SubElement(dc, f"{{{DC_NS}}}{name}").text = value
    return dc

