"""Harvest another registry through its OAI-PMH interface (IVOA Registry Interfaces 1.1):
ListRecords in ivo_vor, by default of the ivo_managed set, following every resumption token,
optionally only what changed since a moment; the result is a list of Record objects. A peer
that cannot be harvested is a `HarvestError` (an `OAIError` when it answered OAI errors)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import httpx
from lxml import etree

from innerspace.registry.errors import HarvestError, OAIError
from innerspace.registry.oai.documents import oai
from innerspace.registry.oai.protocol import OAI_NS
from innerspace.registry.records import MANAGED_SET, RI_NS, Record, safe_parser

log = logging.getLogger("innerspace.registry")

USER_AGENT = "innerspace-harvester"


def _datestamp(text: str) -> datetime:
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not an OAI-PMH datestamp")


def _resource_xml(element: etree._Element) -> bytes:
    """The ri:Resource element on its own, with every namespace in scope declared on it
    (xsi:type values name prefixes that may be declared on the envelope only), except the
    OAI namespace when nothing inside uses it."""
    copy = etree.fromstring(etree.tostring(element, with_tail=False), safe_parser())
    keep = [prefix for prefix, uri in copy.nsmap.items() if prefix and uri != OAI_NS]
    etree.cleanup_namespaces(copy, keep_ns_prefixes=keep)
    return etree.tostring(copy)


class Harvester:
    """One harvest of one endpoint; `run` returns the records."""

    def __init__(self, endpoint: str, client: httpx.Client, *, retries: int = 3,
                 max_retry_wait: float = 120.0, max_pages: int = 100_000) -> None:
        self.endpoint = endpoint
        self.client = client
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.max_pages = max_pages
        self.pages = 0

    def _get(self, params: dict[str, str]) -> bytes:
        """One page, with OAI-PMH flow control (503 + Retry-After) honoured a few times."""
        for attempt in range(self.retries + 1):
            try:
                response = self.client.get(self.endpoint, params=params)
            except httpx.HTTPError as exc:
                raise HarvestError(f"cannot reach the OAI-PMH endpoint {self.endpoint}: "
                                   f"{exc.__class__.__name__}: {exc}") from exc
            if response.status_code == 503 and attempt < self.retries:
                wait = response.headers.get("retry-after", "")
                seconds = float(wait) if wait.strip().isdigit() else 10.0
                if seconds <= self.max_retry_wait:
                    log.info("%s asks to retry in %s s", self.endpoint, seconds)
                    time.sleep(seconds)
                    continue
            if response.status_code != 200:
                raise HarvestError(f"the OAI-PMH endpoint {self.endpoint} answered HTTP "
                                   f"{response.status_code}: {response.text[:200]!r}")
            return response.content
        raise AssertionError("unreachable")  # pragma: no cover

    def _page(self, params: dict[str, str]) -> etree._Element | None:
        """The ListRecords element of one response; None for noRecordsMatch."""
        content = self._get(params)
        try:
            root = etree.fromstring(content, safe_parser())
        except etree.XMLSyntaxError as exc:
            raise HarvestError(f"{self.endpoint} did not answer with XML: {exc}") from None
        if root.tag != oai("OAI-PMH"):
            raise HarvestError(f"{self.endpoint} did not answer with an OAI-PMH document "
                               f"(root element {root.tag!s})")
        errors = [(e.get("code", "?"), (e.text or "").strip()) for e in root.iter(oai("error"))]
        if errors:
            if all(code == "noRecordsMatch" for code, _ in errors):
                return None
            raise OAIError(self.endpoint, errors)
        body = root.find(oai("ListRecords"))
        if body is None:
            raise HarvestError(f"{self.endpoint} answered ListRecords without ListRecords")
        return body

    def _record(self, element: etree._Element) -> Record | None:
        header = element.find(oai("header"))
        identifier = header.findtext(oai("identifier")) if header is not None else None
        stamp = header.findtext(oai("datestamp")) if header is not None else None
        if header is None or not identifier or not stamp:
            raise HarvestError(f"{self.endpoint} sent a record without identifier or datestamp")
        try:
            updated = _datestamp(stamp.strip())
        except ValueError as exc:
            raise HarvestError(f"{self.endpoint}, record {identifier}: {exc}") from None
        ivoid = identifier.strip().lower()
        if header.get("status") == "deleted":
            # Nothing but the header comes with a deleted record.
            return Record(ivoid=ivoid, xml=b"", updated=updated, deleted=True, sets=())
        metadata = element.find(oai("metadata"))
        resource = metadata[0] if metadata is not None and len(metadata) else None
        if resource is None or resource.tag != f"{{{RI_NS}}}Resource":
            log.warning("%s: record %s has no ri:Resource metadata; skipped", self.endpoint,
                        ivoid)
            return None
        # Not in this registry's ivo_managed set: it is managed elsewhere.
        return Record(ivoid=ivoid, xml=_resource_xml(resource), updated=updated, sets=())

    def run(self, since: datetime | None, set_spec: str | None) -> list[Record]:
        params = {"verb": "ListRecords", "metadataPrefix": "ivo_vor"}
        if set_spec:
            params["set"] = set_spec
        if since is not None:
            moment = since if since.tzinfo else since.replace(tzinfo=UTC)
            params["from"] = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        records: dict[str, Record] = {}
        seen_tokens: set[str] = set()
        while True:
            if self.pages >= self.max_pages:
                raise HarvestError(f"{self.endpoint}: gave up after {self.pages} pages")
            body = self._page(params)
            self.pages += 1
            if body is None:
                break
            for element in body.findall(oai("record")):
                record = self._record(element)
                # A record changed during the harvest comes again later: keep the latest.
                if record is not None and (record.ivoid not in records
                                           or record.updated >= records[record.ivoid].updated):
                    records[record.ivoid] = record
            token = (body.findtext(oai("resumptionToken")) or "").strip()
            if not token:
                break
            if token in seen_tokens:
                raise HarvestError(f"{self.endpoint} repeats the resumptionToken {token!r}")
            seen_tokens.add(token)
            params = {"verb": "ListRecords", "resumptionToken": token}
        return list(records.values())


def harvest(endpoint: str, *, since: datetime | None = None,
            set_spec: str | None = MANAGED_SET, client: httpx.Client | None = None,
            timeout: float = 120.0, retries: int = 3) -> list[Record]:
    """Every record of `endpoint` (the OAI-PMH base URL) in `set_spec` (None: all sets)
    changed since `since` (None: all), deleted ones included.

    Harvested records have `sets=()` (they are not in this registry's ivo_managed set);
    deleted ones have `xml=b""`, since OAI-PMH sends only their header. Raises OAIError for
    OAI-PMH errors other than noRecordsMatch (which gives []), HarvestError otherwise.
    """
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True,
                                  headers={"User-Agent": USER_AGENT})
    try:
        return Harvester(endpoint, http, retries=retries).run(since, set_spec)
    finally:
        if own:
            http.close()
