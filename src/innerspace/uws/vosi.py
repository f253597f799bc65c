"""VOSI 1.0 documents of the UWS execution service: capabilities and availability."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AnyUrl
from vo_models.vodataservice.models import ParamHTTP
from vo_models.voresource.models import AccessURL, Capability
from vo_models.vosi.availability.models import Availability
from vo_models.vosi.capabilities.models import VOSICapabilities

from innerspace import vocabulary


def _capability(standard_id: str, url: str, description: str) -> Capability:
    return Capability(
        standard_id=AnyUrl(standard_id),
        description=description,
        interface=[ParamHTTP(access_url=[AccessURL(value=AnyUrl(url), use="full")],
                             role="std")],
    )


def _bytes(document: str | bytes) -> bytes:
    # pydantic-xml's to_xml is typed str | bytes; with an encoding it gives bytes.
    return document if isinstance(document, bytes) else document.encode()


def capabilities_document(base_url: str) -> bytes:
    document = VOSICapabilities(capability=[
        _capability(vocabulary.UWS, f"{base_url}/jobs",
                    "UWS 1.1 job list: each job runs a containerised Python application"),
        _capability(vocabulary.VOSI_CAPABILITIES, f"{base_url}/capabilities",
                    "VOSI capabilities"),
        _capability(vocabulary.VOSI_AVAILABILITY, f"{base_url}/availability",
                    "VOSI availability"),
    ])
    # Empty optional attributes (xsi:type="", version="") are invalid: skip them here.
    return _bytes(document.to_xml(xml_declaration=True, encoding="UTF-8", skip_empty=True))


def availability_document(problem: str | None, up_since: datetime) -> bytes:
    notes = [problem] if problem else ["the service accepts and runs jobs"]
    document = Availability(available=problem is None,
                            up_since=up_since.astimezone(UTC) if problem is None else None,
                            note=notes)
    return _bytes(document.to_xml(xml_declaration=True, encoding="UTF-8"))
