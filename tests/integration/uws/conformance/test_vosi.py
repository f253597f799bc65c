"""UWS 1.1 conformance: the service's VOSI availability and capabilities."""

from __future__ import annotations

from tests.support.uwsclient import (
    UWSClient,
)

UWS_STANDARD_ID = "ivo://ivoa.net/std/UWS#rest-1.1"


# -- VOSI --------------------------------------------------------------------------------------

def test_vosi_availability(client: UWSClient) -> None:
    response = client.get("/availability")
    assert response.status_code == 200
    root = client.schemas.validate(response.content)
    assert root.tag == "{http://www.ivoa.net/xml/VOSIAvailability/v1.0}availability"
    available = root.findtext("{http://www.ivoa.net/xml/VOSIAvailability/v1.0}available")
    assert available == "true"


def test_vosi_capabilities(client: UWSClient) -> None:
    response = client.get("/capabilities")
    assert response.status_code == 200
    root = client.schemas.validate(response.content)
    assert root.tag == "{http://www.ivoa.net/xml/VOSICapabilities/v1.0}capabilities"
    capabilities = {c.get("standardID"): c for c in root.iter("capability")}
    uws_capability = capabilities[UWS_STANDARD_ID]
    urls = [u.text.strip() for u in uws_capability.iter("accessURL")]
    assert urls and all(u.endswith("/jobs") for u in urls)
    assert f"{client.service.url}/jobs" in urls
    assert "ivo://ivoa.net/std/VOSI#capabilities" in capabilities
