"""VOSI 1.0 documents of the UWS execution service: capabilities and availability."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import AnyUrl
from vo_models.vodataservice.models import ParamHTTP
from vo_models.voresource.models import AccessURL, Capability, SecurityMethod
from vo_models.vosi.availability.models import Availability
from vo_models.vosi.capabilities.models import VOSICapabilities

from innerspace import vocabulary


def _capability(standard_id: str, url: str, description: str,
                use: Literal["full", "base"] = "full",
                security: Sequence[str | None] = (None,)) -> Capability:
    """A capability with one interface per security method (None: anonymous)."""
    return Capability(
        standard_id=AnyUrl(standard_id),
        description=description,
        interface=[ParamHTTP(access_url=[AccessURL(value=AnyUrl(url), use=use)], role="std",
                             security_method=[SecurityMethod(standard_id=AnyUrl(method))]
                             if method else [])
                   for method in security],
    )


def _bytes(document: str | bytes) -> bytes:
    # pydantic-xml's to_xml is typed str | bytes; with an encoding it gives bytes.
    return document if isinstance(document, bytes) else document.encode()


def capabilities_document(base_url: str, security: Sequence[str | None] = (None,)) -> bytes:
    """The service's capabilities; `security` lists the security method of each interface
    of the job list (None: anonymous; auth.interface_security). The job list is a base URL,
    as a job's own URLs (where clients send the same credentials) lie below it; the VOSI
    endpoints are anonymous, as VOSI requires."""
    document = VOSICapabilities(capability=[
        _capability(vocabulary.UWS, f"{base_url}/jobs",
                    "UWS 1.1 job list: each job runs a containerised Python application",
                    use="base", security=security),
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
