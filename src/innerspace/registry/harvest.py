"""Harvest another registry through its OAI-PMH interface (IVOA Registry Interfaces 1.1):
Identify, then ListRecords in ivo_vor, by default of the ivo_managed set, following every
resumption token, optionally only what changed since a moment. `Harvester.stream` hands
the records over page by page (memory stays bounded by a page) and returns a
`HarvestSummary` with what the next, incremental, harvest needs; `harvest` collects them in
a `Harvest`: the records, and those left out with the reason.

A harvested registry speaks only for the authorities it manages:

- a record's ivoid is its own `<identifier>` (lower-cased); a record whose OAI header names
  another is refused (a peer could otherwise pass its record off as someone else's);
- the ivoid must be under an authority that the registry's own vg:Registry record lists as
  managedAuthority (the record in its Identify answer, as RI 1.1 asks, else the vg:Registry
  record among its records whose OAI-PMH interface is the endpoint harvested), and never
  under this registry's own authority;
- a deleted record, a header alone, is judged by its header's identifier.

How long it may take, how much it may send and where it may redirect is `peer.PeerClient`'s
business. A peer that cannot be harvested is a `HarvestError` (an `OAIError` when it
answered OAI errors); no error repeats what the peer said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from lxml import etree

from innerspace import vocabulary
from innerspace.config import RegistryLimits
from innerspace.registry.errors import HarvestError, OAIError
from innerspace.registry.oai.documents import oai, xsi_type
from innerspace.registry.oai.protocol import OAI_NS
from innerspace.registry.peer import PeerClient, harvest_client
from innerspace.registry.records import MANAGED_SET, RI_NS, VG_NS, Record, safe_parser

log = logging.getLogger("innerspace.registry")

OAI_ERROR_CODES = frozenset({"badArgument", "badResumptionToken", "badVerb",
                             "cannotDisseminateFormat", "idDoesNotExist", "noRecordsMatch",
                             "noMetadataFormats", "noSetHierarchy"})


@dataclass(frozen=True)
class Harvest:
    """What one harvest of `endpoint` brought: the records accepted, those left out as
    (identifier as the peer gave it, why), and the authorities the endpoint manages."""

    endpoint: str
    records: list[Record]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    authorities: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PeerInfo:
    """What a peer's Identify answer says: the authorities its vg:Registry record manages,
    its earliest datestamp, datestamp granularity and deleted-record policy (as given)."""

    authorities: frozenset[str]
    earliest: str = ""
    granularity: str = "YYYY-MM-DDThh:mm:ssZ"
    deleted_record: str = ""


@dataclass(frozen=True)
class HarvestSummary:
    """What `Harvester.stream` did: how many records it handed over, those left out, the
    authorities accepted, the peer's Identify answer, and `started`: the responseDate of
    the first ListRecords answer (the peer's clock), from which the next harvest may ask
    for changes (every change after it has a later datestamp)."""

    endpoint: str
    records: int
    skipped: list[tuple[str, str]]
    authorities: frozenset[str]
    info: PeerInfo
    started: datetime | None


def shown(text: str) -> str:
    """A peer's text as a log line may show it: quoted, escaped, cut short."""
    return repr(text[:100] + ("..." if len(text) > 100 else ""))


def _datestamp(text: str) -> datetime:
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise ValueError("not an OAI-PMH datestamp")


def _resource_xml(element: etree._Element) -> bytes:
    """The ri:Resource element on its own, with every namespace in scope declared on it
    (xsi:type values name prefixes that may be declared on the envelope only), except the
    OAI namespace when nothing inside uses it."""
    copy = etree.fromstring(etree.tostring(element, with_tail=False), safe_parser())
    keep = [prefix for prefix, uri in copy.nsmap.items() if prefix and uri != OAI_NS]
    etree.cleanup_namespaces(copy, keep_ns_prefixes=keep)
    return etree.tostring(copy)


def managed_authorities(registry: etree._Element) -> frozenset[str]:
    """The authorities (ivo://...) a vg:Registry record lists as managedAuthority."""
    found = set()
    for element in registry.findall("managedAuthority"):
        name = (element.text or "").strip().lower().removeprefix("ivo://").rstrip("/")
        if vocabulary.AUTHORITY_PATTERN.match(f"ivo://{name}"):
            found.add(f"ivo://{name}")
    return frozenset(found)


def _is_registry(resource: etree._Element) -> bool:
    return resource.tag == f"{{{RI_NS}}}Resource" and xsi_type(resource) == (VG_NS, "Registry")


def _serves(registry: etree._Element, endpoint: str) -> bool:
    """Whether a vg:Registry record's harvesting interface is `endpoint`."""
    urls = {(url.text or "").strip().rstrip("/")
            for url in registry.iterfind("capability/interface/accessURL")}
    return endpoint.rstrip("/") in urls


class Harvester:
    """One harvest of one endpoint; `run` returns the `Harvest`."""

    def __init__(self, endpoint: str, client: httpx.Client, *,
                 limits: RegistryLimits | None = None, own_authority: str | None = None,
                 retries: int = 3, max_retry_wait: float = 120.0,
                 max_pages: int = 100_000) -> None:
        self.endpoint = endpoint
        self.peer = PeerClient(endpoint, client, limits or RegistryLimits(), retries=retries,
                               max_retry_wait=max_retry_wait)
        self.own_authority = own_authority.rstrip("/").lower() if own_authority else None
        self.max_pages = max_pages
        self.pages = 0
        self.skipped: list[tuple[str, str]] = []
        self._registries: set[str] = set()  # authorities of vg:Registry records of this endpoint
        self.authorities: frozenset[str] = frozenset()  # those accepted, once known

    def _document(self, params: dict[str, str]) -> etree._Element:
        """The OAI-PMH document answering `params`; OAIError if it lists errors."""
        content = self.peer.get(params)
        try:
            root = etree.fromstring(content, safe_parser())
        except etree.XMLSyntaxError as exc:
            line = exc.position[0] if exc.position else "?"
            raise HarvestError(f"{self.endpoint} did not answer with well-formed XML "
                               f"(line {line})") from None
        if root.tag != oai("OAI-PMH"):
            raise HarvestError(f"{self.endpoint} did not answer with an OAI-PMH document")
        errors = [(e.get("code", ""), (e.text or "").strip()) for e in root.iter(oai("error"))]
        if errors:
            errors = [(code if code in OAI_ERROR_CODES else "unknown", text)
                      for code, text in errors]
            if all(code == "noRecordsMatch" for code, _ in errors):
                return root
            log.warning("%s answered OAI-PMH errors: %s", self.endpoint,
                        "; ".join(f"{code} {shown(text)}" for code, text in errors))
            raise OAIError(self.endpoint, errors)
        return root

    def identify(self) -> PeerInfo:
        """The peer's Identify answer: the authorities its vg:Registry record manages (none
        if it has none there), its datestamps and deletion policy."""
        body = self._document({"verb": "Identify"}).find(oai("Identify"))
        if body is None:  # nothing to go by: the records' own vg:Registry record may say
            return PeerInfo(frozenset())
        authorities: frozenset[str] = frozenset()
        for resource in body.iterfind(f"{oai('description')}/*"):
            if _is_registry(resource):
                authorities = managed_authorities(resource)
                break
        return PeerInfo(authorities, (body.findtext(oai("earliestDatestamp")) or "").strip(),
                        (body.findtext(oai("granularity")) or "").strip()
                        or "YYYY-MM-DDThh:mm:ssZ",
                        (body.findtext(oai("deletedRecord")) or "").strip())

    def _skip(self, identifier: str, why: str) -> None:
        log.warning("%s: record %s left out: %s", self.endpoint, shown(identifier), why)
        self.skipped.append((identifier, why))

    def _record(self, element: etree._Element) -> Record | None:
        header = element.find(oai("header"))
        identifier = (header.findtext(oai("identifier")) or "").strip() \
            if header is not None else ""
        stamp = (header.findtext(oai("datestamp")) or "").strip() if header is not None else ""
        if header is None or not identifier or not stamp:
            self._skip(identifier, "its OAI header lacks an identifier or a datestamp")
            return None
        try:
            updated = _datestamp(stamp)
        except ValueError:
            self._skip(identifier, "its datestamp is not an OAI-PMH datestamp")
            return None
        ivoid = identifier.lower()
        if header.get("status") == "deleted":
            # Nothing but the header comes with a deleted record.
            return Record(ivoid=ivoid, xml=b"", updated=updated, deleted=True, sets=())
        metadata = element.find(oai("metadata"))
        resource = metadata[0] if metadata is not None and len(metadata) else None
        if resource is None or resource.tag != f"{{{RI_NS}}}Resource":
            self._skip(identifier, "it has no ri:Resource metadata")
            return None
        own = (resource.findtext("identifier") or "").strip().lower()
        if own != ivoid:
            self._skip(identifier, "its OAI header names another identifier than the "
                                   "record itself" if own else "it has no identifier")
            return None
        if _is_registry(resource) and _serves(resource, self.endpoint):
            self._registries |= managed_authorities(resource)
        # Not in this registry's ivo_managed set: it is managed elsewhere.
        return Record(ivoid=ivoid, xml=_resource_xml(resource), updated=updated, sets=())

    def _accepted(self, records: list[Record], authorities: frozenset[str]) -> list[Record]:
        """The records under the authorities the endpoint manages, never under ours."""
        accepted = []
        for record in records:
            authority = vocabulary.authority_of(record.ivoid)
            if authority == self.own_authority:
                self._skip(record.ivoid, "it is under this registry's own authority")
            elif authority not in authorities:
                self._skip(record.ivoid, "its authority is not one the harvested registry "
                                         "manages")
            else:
                accepted.append(record)
        return accepted

    def stream(self, since: datetime | None, set_spec: str | None,
               batches: Callable[[list[Record]], None], info: PeerInfo | None = None
               ) -> HarvestSummary:
        """Hand the records accepted (deleted ones included) to `batches`, one call per
        page. When the Identify answer names no authority, the records are held until the
        end, where the endpoint's own vg:Registry record may name them."""
        info = info or self.identify()
        self.authorities = info.authorities
        params = {"verb": "ListRecords", "metadataPrefix": "ivo_vor"}
        if set_spec:
            params["set"] = set_spec
        if since is not None:
            moment = (since if since.tzinfo else since.replace(tzinfo=UTC)).astimezone(UTC)
            layout = "%Y-%m-%d" if info.granularity == "YYYY-MM-DD" else "%Y-%m-%dT%H:%M:%SZ"
            params["from"] = moment.strftime(layout)
        held: list[Record] = []
        count, started = 0, None
        seen_tokens: set[str] = set()
        while True:
            if self.pages >= self.max_pages:
                raise HarvestError(f"{self.endpoint}: gave up after {self.pages} pages")
            root = self._document(params)
            if started is None:
                try:
                    started = _datestamp((root.findtext(oai("responseDate")) or "").strip())
                except ValueError:
                    started = None
            self.pages += 1
            body = None if root.find(oai("error")) is not None else root.find(oai("ListRecords"))
            if body is None and root.find(oai("error")) is None:
                raise HarvestError(f"{self.endpoint} answered ListRecords without ListRecords")
            if body is None:
                break
            page = [r for r in map(self._record, body.findall(oai("record"))) if r is not None]
            if info.authorities:
                accepted = self._accepted(page, info.authorities)
                count += len(accepted)
                if accepted:
                    batches(accepted)
            else:
                held += page
            token = (body.findtext(oai("resumptionToken")) or "").strip()
            if not token:
                break
            if token in seen_tokens:
                raise HarvestError(f"{self.endpoint} repeats a resumptionToken")
            seen_tokens.add(token)
            params = {"verb": "ListRecords", "resumptionToken": token}
        authorities = info.authorities or frozenset(self._registries)
        if held and not authorities:
            raise HarvestError(f"{self.endpoint} names no authority it manages (no "
                               "vg:Registry record with managedAuthority, in its Identify "
                               "answer or among its records): none of its records can be "
                               "accepted")
        self.authorities = authorities
        if held:
            accepted = self._accepted(held, authorities)
            count += len(accepted)
            for first in range(0, len(accepted), 500):
                batches(accepted[first:first + 500])
        return HarvestSummary(self.endpoint, count, list(self.skipped), authorities, info,
                              started)

    def run(self, since: datetime | None, set_spec: str | None) -> Harvest:
        records: dict[str, Record] = {}

        def keep(batch: list[Record]) -> None:
            # A record changed during the harvest comes again later: keep the latest.
            for record in batch:
                if record.ivoid not in records or \
                        record.updated >= records[record.ivoid].updated:
                    records[record.ivoid] = record

        summary = self.stream(since, set_spec, keep)
        return Harvest(self.endpoint, list(records.values()), summary.skipped,
                       summary.authorities)


def harvest(endpoint: str, *, since: datetime | None = None,
            set_spec: str | None = MANAGED_SET, client: httpx.Client | None = None,
            limits: RegistryLimits | None = None, own_authority: str | None = None,
            retries: int = 3) -> Harvest:
    """Every record of `endpoint` (the OAI-PMH base URL) in `set_spec` (None: all sets)
    changed since `since` (None: all), deleted ones included, that the endpoint may supply:
    under the authorities it manages, not under `own_authority`.

    Harvested records have `sets=()` (they are not in this registry's ivo_managed set);
    deleted ones have `xml=b""`, since OAI-PMH sends only their header. Raises OAIError for
    OAI-PMH errors other than noRecordsMatch (which gives no records), HarvestError
    otherwise.
    """
    own = client is None
    http = client or harvest_client()
    try:
        return Harvester(endpoint, http, limits=limits, own_authority=own_authority,
                         retries=retries).run(since, set_spec)
    finally:
        if own:
            http.close()
