"""VOSI capabilities list how each interface is secured (VOResource securityMethod): the job
list takes bearer tokens when OIDC or tokens are configured and is anonymous only when that
is allowed; RegTAP stays open to anyone. Both valid against the IVOA schemas."""

from __future__ import annotations

from typing import Any, cast

import pytest
from lxml import etree

from innerspace import vocabulary
from innerspace.config import Auth
from innerspace.registry.regtap.index import RegTAPIndex
from innerspace.registry.regtap.vosi import capabilities_document as regtap_capabilities
from innerspace.uws.vosi import capabilities_document
from tests.support.xmlcheck import SchemaSet

OIDC = {"issuer": "https://idp.example.org", "audience": "innerspace"}


def methods_of(root: Any, standard_id: str) -> list[list[str | None]]:
    """The security methods of each interface of a capability ([] for an anonymous one)."""
    capability = next(c for c in root.iter("capability") if c.get("standardID") == standard_id)
    return [[m.get("standardID") for m in interface.iter("securityMethod")]
            for interface in capability.iter("interface")]


@pytest.mark.parametrize(("auth", "expected"), [
    ({}, [[]]),
    (OIDC, [[vocabulary.SSO_OAUTH]]),
    ({**OIDC, "allow_anonymous": True}, [[], [vocabulary.SSO_OAUTH]]),
    ({"tokens": {"t": "a"}}, [[vocabulary.SSO_OAUTH]]),
])
def test_the_job_list_interfaces(xml_schemas: SchemaSet, auth: dict[str, Any],
                                 expected: list[list[str]]) -> None:
    document = capabilities_document("https://dc.example.org",
                                     Auth(**auth).interface_security)
    root = xml_schemas.validate(document)
    assert methods_of(root, vocabulary.UWS) == expected
    urls = {(u.get("use"), u.text) for u in root.iter("accessURL")}
    assert ("base", "https://dc.example.org/jobs") in urls  # jobs' own URLs lie below
    assert methods_of(root, vocabulary.VOSI_CAPABILITIES) == [[]]  # VOSI: anonymous


@pytest.mark.parametrize(("auth", "expected"), [
    ({}, [[]]), (OIDC, [[], [vocabulary.SSO_OAUTH]]),
])
def test_regtap_stays_open(xml_schemas: SchemaSet, auth: dict[str, Any],
                           expected: list[list[str]]) -> None:
    index = cast(RegTAPIndex, type("Index", (), {"timeout": 10.0, "default_maxrec": 100,
                                                 "hard_maxrec": 1000})())
    document = regtap_capabilities("https://dc.example.org/registry/tap", index,
                                   Auth(**auth).public_interface_security)
    root = etree.fromstring(document, xml_schemas.parser)
    assert methods_of(root, vocabulary.TAP) == expected
    # The schema's only complaints are older than securityMethod: the IdentifierURI pattern
    # of VOResource 1.1 has no '#', which the data model's and ADQL's ivo-ids carry.
    xml_schemas.schema.validate(root)
    problems = [error.message for error in xml_schemas.schema.error_log]
    assert all("'ivo-id'" in problem and "#" in problem for problem in problems), problems
