"""The planner's TAP reader: rows from TABLEDATA as text, a query's refusal as a
ClientError with the service's message, and other serializations named, not misread."""

from __future__ import annotations

import pytest

from innerspace.client import ClientError
from innerspace.client.tap import rows_of

HEAD = ('<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.4">'
        '<RESOURCE type="results">')


def votable(status: str, table: str = "") -> bytes:
    return f'{HEAD}<INFO name="QUERY_STATUS" value="{status}">why</INFO>{table}' \
           '</RESOURCE></VOTABLE>'.encode()


TABLE = ('<TABLE><FIELD name="ivoid" datatype="char" arraysize="*"/>'
         '<FIELD name="table_name" datatype="char" arraysize="*"/>'
         '<DATA><TABLEDATA><TR><TD>ivo://a/x</TD><TD>t&amp;1</TD></TR>'
         '<TR><TD>ivo://b/y</TD><TD/></TR></TABLEDATA></DATA></TABLE>')


def test_rows_are_read_from_tabledata_as_text() -> None:
    assert rows_of(votable("OK", TABLE)) == [{"ivoid": "ivo://a/x", "table_name": "t&1"},
                                             {"ivoid": "ivo://b/y", "table_name": None}]
    assert rows_of(votable("OVERFLOW", TABLE))[0]["ivoid"] == "ivo://a/x"


def test_an_empty_table_has_no_rows() -> None:
    assert rows_of(votable("OK", '<TABLE><FIELD name="ivoid" datatype="char"/></TABLE>')) == []


def test_a_refused_query_says_why() -> None:
    with pytest.raises(ClientError, match="refused the query: why"):
        rows_of(votable("ERROR"))


def test_other_serializations_and_other_documents_are_named() -> None:
    binary = TABLE.split("<DATA>")[0] + "<DATA><BINARY2><STREAM>AA==</STREAM></BINARY2></DATA>"
    with pytest.raises(ClientError, match="VOTable BINARY2"):
        rows_of(votable("OK", binary + "</TABLE>"))
    with pytest.raises(ClientError, match="no VOTable"):
        rows_of(b"<html")
    with pytest.raises(ClientError, match="no table"):
        rows_of(votable("OK"))
