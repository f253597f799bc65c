"""Reading VOResource elements the RegTAP 1.1 way: children by local name (VOResource
children are unqualified, extensions may not be), text stripped with empty text as NULL,
identifiers lower-cased, QNames with their canonical prefixes, #-joined lists, timestamps in
UTC."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from lxml import etree

from innerspace.registry.records import RI_NS, TR_NS, VG_NS, VR_NS, VS_NS, XSI_NS

CANONICAL_PREFIXES = {
    VR_NS: "vr", VS_NS: "vs", "http://www.ivoa.net/xml/VODataService/v1.0": "vs",
    VG_NS: "vg", RI_NS: "ri", TR_NS: "tr", XSI_NS: "xsi",
    "http://www.ivoa.net/xml/ConeSearch/v1.0": "cs",
    "http://www.ivoa.net/xml/SIA/v1.0": "sia", "http://www.ivoa.net/xml/SIA/v1.1": "sia",
    "http://www.ivoa.net/xml/SLAP/v1.0": "slap",
    "http://www.ivoa.net/xml/SSA/v1.0": "ssap", "http://www.ivoa.net/xml/SSA/v1.1": "ssap",
    "http://www.ivoa.net/xml/StandardsRegExt/v1.0": "vstd",
    "http://www.ivoa.net/xml/DocRegExt/v1.0": "doc",
    "http://purl.org/dc/elements/1.1/": "dc", "http://www.openarchives.org/OAI/2.0/": "oai",
}


def local_name(node: etree._Element) -> str:
    """The tag without its namespace; "" for comments and processing instructions. (The
    string itself, not etree.QName: this runs for every element of every record ingested,
    and QName made it a third of an ingestion's time.)"""
    tag = node.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def children(node: etree._Element, name: str) -> list[etree._Element]:
    return [item for item in node if local_name(item) == name]


def child(node: etree._Element | None, name: str) -> etree._Element | None:
    """The first child called `name` (None when there is none, or no node)."""
    if node is None:
        return None
    return next((item for item in node if local_name(item) == name), None)


def text_of(node: etree._Element | None) -> str | None:
    """The stripped text (None when empty), inner whitespace runs collapsed to one blank,
    except in descriptions, whose line breaks may carry paragraphs."""
    if node is None:
        return None
    found = "".join(str(piece) for piece in node.itertext())
    if local_name(node) != "description":
        found = " ".join(found.split())
    return found.strip() or None


def attribute(node: etree._Element | None, name: str) -> str | None:
    """The stripped attribute value; None when absent or empty."""
    value = node.get(name) if node is not None else None
    return value.strip() or None if value is not None else None


def lowered(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def hash_list(values: Iterable[str | None]) -> str | None:
    """RegTAP's hash-joined list of lower-cased values; None when there is none."""
    return "#".join(v.lower() for v in values if v) or None


def qname(node: etree._Element | None, value: str | None) -> str | None:
    """A QName attribute value (xsi:type) with the canonical prefix, lower-cased."""
    if node is None or not value:
        return None
    prefix, _, name = value.strip().rpartition(":")
    namespace = node.nsmap.get(prefix or None)
    canonical = CANONICAL_PREFIXES.get(namespace or "", prefix)
    return (f"{canonical}:{name}" if canonical else name).lower()


def boolean_of(value: str | None) -> int | None:
    """An xs:boolean as 1 or 0; None when absent or not a boolean."""
    if value is None:
        return None
    return {"true": 1, "1": 1, "false": 0, "0": 0}.get(value.strip().lower())


def timestamp_of(value: str | None) -> str | None:
    """An ISO date or date-time as YYYY-MM-DDTHH:MM:SS in UTC; None if it is not one."""
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def real_of(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def integer_of(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def plain_attributes(element: etree._Element) -> Iterator[tuple[str, str]]:
    """The element's attributes without a namespace (not xsi:type), values stripped."""
    for name, value in element.attrib.items():
        name, value = str(name), str(value)
        if not name.startswith("{") and value.strip():
            yield name, value.strip()
