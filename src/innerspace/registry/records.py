"""Registry records: the VOResource documents this data centre publishes (and those harvested
from others), as the OAI-PMH publishing registry and the RegTAP index consume them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lxml import etree

RI_NS = "http://www.ivoa.net/xml/RegistryInterface/v1.0"
VR_NS = "http://www.ivoa.net/xml/VOResource/v1.0"
VS_NS = "http://www.ivoa.net/xml/VODataService/v1.1"
VG_NS = "http://www.ivoa.net/xml/VORegistry/v1.0"
TR_NS = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE = f"{{{XSI_NS}}}type"
MANAGED_SET = "ivo_managed"


@dataclass(frozen=True)
class Record:
    """One resource record.

    `xml` is a complete `<ri:Resource xsi:type="...">` element (VOResource 1.1, every
    namespace declared on it, no XML declaration), exactly what OAI-PMH puts inside
    `<metadata>` for the `ivo_vor` format. A deleted record keeps its last `xml`.
    """

    ivoid: str  # lower-case IVOA identifier, e.g. ivo://example.org/innerspace/uws
    xml: bytes
    updated: datetime  # timezone-aware UTC
    deleted: bool = False
    sets: tuple[str, ...] = (MANAGED_SET,)


class RecordSource(Protocol):
    """Where the registry endpoints get their records from."""

    def records(self) -> list[Record]: ...


_PARSERS = threading.local()


def safe_parser(*, remove_comments: bool = False, remove_pis: bool = False
                ) -> etree.XMLParser:
    """A parser for XML from elsewhere (registry records, harvested documents): no network,
    no entity expansion, no DTD, no huge trees. lxml parsers must not be shared between
    threads, so each thread gets its own (one per set of options)."""
    key = (remove_comments, remove_pis)
    cache: dict[tuple[bool, bool], etree.XMLParser] | None = getattr(_PARSERS, "cache", None)
    if cache is None:
        cache = _PARSERS.cache = {}
    parser = cache.get(key)
    if parser is None:
        parser = cache[key] = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            remove_comments=remove_comments, remove_pis=remove_pis)
    return parser
