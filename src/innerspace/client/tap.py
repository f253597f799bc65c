"""The one TAP call the planner makes: a synchronous ADQL query, its rows read from the
VOTable's TABLEDATA as text.

pyvo does this (and much more), but it needs astropy and numpy, which a client-only install
on a laptop should not pull in; the planner's RegTAP questions return a few columns of
identifiers and URLs, which TABLEDATA carries as text already.

    rows = query("http://registry.example/registry/tap", "SELECT ivoid FROM rr.resource")
"""

from __future__ import annotations

import httpx
from lxml import etree

from innerspace.client.errors import ClientError

# TABLEDATA under its TAP short name (the common extension of TAP 1.1's "votable"); a
# service that does not know it is asked again for its default VOTable.
TABLEDATA = "votable/td"
# A VOTable is data, never a document to fetch more from.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)  # libxml2 limits kept


class _NotTableData(ClientError):
    """The answer was a VOTable in another serialization (BINARY, BINARY2, FITS)."""


def _local(element: etree._Element) -> str:
    # VOTable 1.1 to 1.5 each have their own namespace: match on local names.
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if _local(child) == name]


def _query_error(root: etree._Element) -> str | None:
    """The message of a QUERY_STATUS ERROR (TAP's way of refusing a query), if any."""
    for info in root.iter():
        if (_local(info) == "INFO" and info.get("name") == "QUERY_STATUS"
                and (info.get("value") or "").upper() == "ERROR"):
            return (info.text or "").strip() or "the query failed"
    return None


def rows_of(document: bytes) -> list[dict[str, str | None]]:
    """The rows of the first table of a VOTable: column name -> text (None when empty)."""
    try:
        root = etree.fromstring(document, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ClientError(f"the TAP service's answer is no VOTable ({exc})") from None
    if (message := _query_error(root)) is not None:
        raise ClientError(f"the TAP service refused the query: {message}")
    table = next((e for e in root.iter() if _local(e) == "TABLE"), None)
    if table is None:
        raise ClientError("the TAP service's answer holds no table")
    names = [field.get("name", "") for field in _children(table, "FIELD")]
    data = _children(table, "DATA")
    if not data:
        return []
    serialization = [_local(child) for child in data[0] if _local(child)]
    if serialization != ["TABLEDATA"]:
        raise _NotTableData(f"the TAP service answered VOTable {' '.join(serialization)}; "
                            "the planner reads TABLEDATA")
    rows = []
    for tr in _children(_children(data[0], "TABLEDATA")[0], "TR"):
        cells = [td.text if td.text else None for td in _children(tr, "TD")]
        rows.append(dict(zip(names, cells, strict=False)))
    return rows


def query(url: str, adql: str, timeout: float = 60.0) -> list[dict[str, str | None]]:
    """Run `adql` on the TAP service at `url` (its base URL, without /sync)."""
    form = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql}
    problem: ClientError | None = None
    with httpx.Client(timeout=timeout, follow_redirects=True) as http:
        for response_format in (TABLEDATA, None):
            asked = form if response_format is None else {**form,
                                                          "RESPONSEFORMAT": response_format}
            try:
                reply = http.post(f"{url.rstrip('/')}/sync", data=asked)
            except httpx.HTTPError as exc:
                raise ClientError(f"cannot reach the TAP service at {url}: {exc}") from None
            try:
                return rows_of(reply.content)
            except _NotTableData:
                raise
            except ClientError as exc:
                if reply.is_success and response_format is None:
                    raise
                # An error (perhaps over RESPONSEFORMAT): ask once more without it.
                problem = ClientError(f"{exc} (HTTP {reply.status_code})", reply.status_code)
    assert problem is not None
    raise problem
