"""Registry records: the VOResource documents this data centre publishes (and those harvested
from others), as the OAI-PMH publishing registry and the RegTAP index consume them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

RI_NS = "http://www.ivoa.net/xml/RegistryInterface/v1.0"
VR_NS = "http://www.ivoa.net/xml/VOResource/v1.0"
VS_NS = "http://www.ivoa.net/xml/VODataService/v1.1"
VG_NS = "http://www.ivoa.net/xml/VORegistry/v1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
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
