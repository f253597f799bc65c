"""A UWS client on the module's service that checks every XML answer against the IVOA
schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.services import LiveService
from tests.support.uwsclient import UWSClient


@pytest.fixture
def client(service: LiveService, xml_schemas: Any) -> Iterator[UWSClient]:
    with UWSClient(service, xml_schemas) as uws_client:
        yield uws_client
