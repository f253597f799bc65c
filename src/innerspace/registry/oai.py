"""The OAI-PMH 2.0 interface of the publishing registry (IVOA Registry Interfaces 1.1).

`respond` answers one request (all six verbs, metadata formats `ivo_vor` and `oai_dc`, the
`ivo_managed` set, deleted records, stateless resumption tokens, every OAI error code) from
the records it is handed; `router` serves it at /registry/oai for GET and form-encoded POST.
Every bad request is an OAI error document with HTTP 200, as OAI-PMH requires.

OAI elements carry the `oai:` prefix (RI's recommendation) rather than a default namespace:
VOResource children are unqualified, and under a default namespace they would change meaning.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from lxml import etree
from starlette.concurrency import run_in_threadpool

from innerspace.registry.records import MANAGED_SET, RI_NS, VG_NS, XSI_NS, Record, safe_parser

log = logging.getLogger("innerspace.registry")

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
RI_SCHEMA = "http://www.ivoa.net/xml/RegistryInterface/RegistryInterface-v1.0.xsd"
XML_MEDIA_TYPE = "text/xml; charset=utf-8"
PATH = "/registry/oai"

# metadataPrefix -> (schema, metadataNamespace), as ListMetadataFormats reports them.
FORMATS: dict[str, tuple[str, str]] = {
    "ivo_vor": (RI_SCHEMA, RI_NS),
    "oai_dc": (OAI_DC_SCHEMA, OAI_DC_NS),
}
SET_NAMES = {MANAGED_SET: "Resources whose authorities this registry manages"}
DEFAULT_PAGE_SIZE = 100
DEFAULT_TOKEN_LIFETIME = timedelta(hours=24)
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
MAX_BODY = 64 * 1024  # a POST body of OAI arguments is a few hundred bytes

ARGUMENTS = ("verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken")
LIST_ARGUMENTS = (frozenset({"metadataPrefix"}),
                  frozenset({"metadataPrefix", "from", "until", "set", "resumptionToken"}))
# verb -> (required arguments, allowed arguments), besides verb itself.
VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}),
                  frozenset({"identifier", "metadataPrefix"})),
    "ListIdentifiers": LIST_ARGUMENTS,
    "ListRecords": LIST_ARGUMENTS,
}

# The value syntaxes of OAI-PMH.xsd, so that every echoed argument keeps the response valid.
PREFIX_SYNTAX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
SET_SYNTAX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
_URI_CHAR = r"(?:[^\s<>\"{}|\\^`%#\[\]]|%[0-9A-Fa-f]{2})"  # what xs:anyURI takes, simplified
URI_SYNTAX = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:(?=\S){_URI_CHAR}*(?:#{_URI_CHAR}*)?")
DAY_SYNTAX = re.compile(r"\d{4}-\d{2}-\d{2}")
SECONDS_SYNTAX = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Tokens are not secret (they only select public records); the digest catches corruption.
TOKEN_VERSION = 1
TOKEN_SALT = b"innerspace-oai-resumption-token"



@dataclass(frozen=True)
class Repository:
    """What Identify says about this registry, and how lists are split into pages."""

    ivoid: str  # of this registry's own vg:Registry record
    admin_email: str
    name: str
    base_url: str  # of the OAI-PMH endpoint itself
    earliest: datetime
    page_size: int = DEFAULT_PAGE_SIZE
    token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME


class RecordError(Exception):
    """A stored record cannot be disseminated (its XML is broken): the registry's fault."""


class _Failure(Exception):
    """OAI errors ending the request; `echo` keeps the request element's attributes."""

    def __init__(self, errors: list[tuple[str, str]], echo: bool = True) -> None:
        super().__init__("; ".join(f"{code}: {message}" for code, message in errors))
        self.errors = errors
        self.echo = echo


def _fail(code: str, message: str) -> _Failure:
    return _Failure([(code, message)])


# -- time -----------------------------------------------------------------------------------

def _utc(moment: datetime) -> datetime:
    """Whole seconds in UTC (naive datetimes count as UTC): OAI datestamp precision."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def datestamp(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_bound(text: str, end_of_day: bool) -> tuple[datetime, bool] | None:
    """A from/until value as (UTC datetime, day granularity); None when illegal."""
    try:
        if SECONDS_SYNTAX.fullmatch(text):
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), False
        if DAY_SYNTAX.fullmatch(text):
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return (day.replace(hour=23, minute=59, second=59) if end_of_day else day), True
    except ValueError:
        pass
    return None


# -- requests -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Query:
    """The selection of a ListIdentifiers/ListRecords request, and where a page starts."""

    verb: str
    prefix: str
    set_spec: str | None
    from_text: str | None
    until_text: str | None
    after: tuple[datetime, str] | None = None  # key of the last record already sent
    cursor: int = 0

    @property
    def lower(self) -> datetime | None:
        bound = _parse_bound(self.from_text, False) if self.from_text else None
        return bound[0] if bound else None

    @property
    def upper(self) -> datetime | None:
        bound = _parse_bound(self.until_text, True) if self.until_text else None
        return bound[0] if bound else None


def _check_arguments(arguments: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments, or a _Failure with badVerb / badArgument (no echo)."""
    verbs = list(arguments.get("verb", ()))
    if not verbs:
        raise _Failure([("badVerb", "the verb argument is missing")], echo=False)
    if len(verbs) > 1:
        raise _Failure([("badVerb", "the verb argument is repeated")], echo=False)
    verb = verbs[0]
    if verb not in VERBS:
        shown = verb[:40] if not NOT_XML.search(verb) else "(not text)"
        raise _Failure([("badVerb", f"{shown!r} is not an OAI-PMH verb; the verbs are "
                         f"{', '.join(VERBS)}")], echo=False)
    required, allowed = VERBS[verb]
    problems: list[str] = []
    values: dict[str, str] = {}
    for name, given in arguments.items():
        if name == "verb":
            continue
        shown = name[:40] if not NOT_XML.search(name) else "(not text)"
        if name not in allowed:
            problems.append(f"{shown!r} is not an argument of {verb}" if name in ARGUMENTS
                            else f"{shown!r} is not an OAI-PMH argument")
        elif len(given) != 1:
            problems.append(f"the argument {name} is repeated")
        elif NOT_XML.search(given[0]):
            problems.append(f"the value of {name} holds characters that XML cannot carry")
        else:
            values[name] = given[0]
    if problems:
        raise _Failure([("badArgument", p) for p in problems], echo=False)
    if "resumptionToken" in values:
        if len(values) > 1:
            others = ", ".join(sorted(set(values) - {"resumptionToken"}))
            raise _Failure([("badArgument", f"resumptionToken is an exclusive argument "
                             f"(also given: {others})")], echo=False)
        return verb, values
    missing = sorted(required - set(values))
    problems += [f"{verb} needs the argument {name}" for name in missing]
    if "metadataPrefix" in values and not PREFIX_SYNTAX.fullmatch(values["metadataPrefix"]):
        problems.append("the metadataPrefix has an illegal syntax")
    if "set" in values and not SET_SYNTAX.fullmatch(values["set"]):
        problems.append("the set has an illegal setSpec syntax")
    if "identifier" in values and not URI_SYNTAX.fullmatch(values["identifier"]):
        problems.append("the identifier is not a URI")
    bounds = {}
    for name in ("from", "until"):
        if name in values:
            bound = _parse_bound(values[name], name == "until")
            if bound is None:
                problems.append(f"{name} is not a UTC datestamp (YYYY-MM-DD or "
                                f"{GRANULARITY})")
            else:
                bounds[name] = bound
    if len(bounds) == 2:
        if bounds["from"][1] != bounds["until"][1]:
            problems.append("from and until have different granularities")
        elif bounds["from"][0] > bounds["until"][0]:
            problems.append("from is later than until")
    if problems:
        raise _Failure([("badArgument", p) for p in problems], echo=False)
    return verb, values


# -- resumption tokens ------------------------------------------------------------------------

def _digest(payload: str) -> str:
    return hashlib.sha256(TOKEN_SALT + payload.encode()).hexdigest()[:16]


def _encode_token(query: _Query, expires: datetime) -> str:
    assert query.after is not None
    data = {"v": TOKEN_VERSION, "verb": query.verb, "p": query.prefix, "s": query.set_spec,
            "f": query.from_text, "u": query.until_text,
            "a": [datestamp(query.after[0]), query.after[1]], "c": query.cursor,
            "e": int(expires.timestamp())}
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{payload}.{_digest(payload)}"


def _decode_token(token: str, verb: str, now: datetime) -> _Query:
    """The query a token continues; badResumptionToken when it is not ours, not for this
    verb, or expired."""
    bad = _fail("badResumptionToken", "the resumptionToken is invalid")
    payload, _, digest = token.rpartition(".")
    if not payload or not hmac.compare_digest(digest.encode(), _digest(payload).encode()):
        raise bad
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        after_stamp, after_id = data["a"]
        after = _parse_bound(after_stamp, False)
        query = _Query(verb=data["verb"], prefix=data["p"], set_spec=data["s"],
                       from_text=data["f"], until_text=data["u"],
                       after=(after[0], after_id) if after else None, cursor=data["c"])
        expires = datetime.fromtimestamp(data["e"], UTC)
        valid = (data["v"] == TOKEN_VERSION and query.after is not None
                 and isinstance(after_id, str) and query.prefix in FORMATS
                 and isinstance(query.cursor, int) and query.cursor > 0
                 and all(v is None or isinstance(v, str)
                         for v in (query.set_spec, query.from_text, query.until_text)))
    except (binascii.Error, ValueError, TypeError, KeyError, OverflowError, OSError):
        raise bad from None
    if not valid:
        raise bad
    if query.verb != verb:
        raise _fail("badResumptionToken", f"the resumptionToken belongs to {query.verb}, "
                                          f"not {verb}")
    if expires <= now:
        raise _fail("badResumptionToken", f"the resumptionToken expired at {datestamp(expires)}")
    return query


# -- records ------------------------------------------------------------------------------

def _key(record: Record) -> tuple[datetime, str]:
    return _utc(record.updated), record.ivoid


def _valid_sets(record: Record) -> list[str]:
    return [s for s in record.sets if SET_SYNTAX.fullmatch(s)]


def _in_set(record: Record, spec: str) -> bool:
    return any(s == spec or s.startswith(spec + ":") for s in record.sets)


def _index(records: Sequence[Record]) -> dict[str, Record]:
    """Records by lower-case ivoid; of duplicates, the latest update wins."""
    index: dict[str, Record] = {}
    for record in records:
        ivoid = record.ivoid.lower()
        if ivoid not in index or _key(record) > _key(index[ivoid]):
            index[ivoid] = record
    return index


def _resource(record: Record) -> etree._Element:
    """The record's ri:Resource element, freshly parsed."""
    try:
        element = etree.fromstring(record.xml, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise RecordError(f"the XML of {record.ivoid} is broken: {exc}") from None
    if element.tag != f"{{{RI_NS}}}Resource":
        raise RecordError(f"the XML of {record.ivoid} is a {element.tag}, not ri:Resource")
    return element


def _xsi_type(resource: etree._Element) -> tuple[str | None, str]:
    """The (namespace, local name) that the resource's xsi:type names."""
    value = (resource.get(f"{{{XSI_NS}}}type") or "").strip()
    prefix, _, local = value.rpartition(":")
    return resource.nsmap.get(prefix or None), local


def _texts(resource: etree._Element, path: str) -> list[str]:
    found = (" ".join((e.text or "").split()) for e in resource.findall(path))
    return [text for text in found if text]


def dublin_core(resource: etree._Element) -> etree._Element:
    """Simple Dublin Core (oai_dc) derived from a VOResource record."""
    dc = etree.Element(f"{{{OAI_DC_NS}}}dc",
                       nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
    dc.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
    dates = _texts(resource, "curation/date") or [resource.get("updated", "").strip()]
    fields = [
        ("title", _texts(resource, "title")),
        ("identifier", _texts(resource, "identifier") + _texts(resource, "content/referenceURL")),
        ("creator", _texts(resource, "curation/creator/name")),
        ("subject", _texts(resource, "content/subject")),
        ("description", _texts(resource, "content/description")),
        ("publisher", _texts(resource, "curation/publisher")),
        ("contributor", _texts(resource, "curation/contributor")),
        ("date", [d for d in dates if d]),
        ("type", [t for t in [(resource.get(f"{{{XSI_NS}}}type") or "").strip()] if t]
         + _texts(resource, "content/type")),
        ("source", _texts(resource, "content/source")),
        ("rights", _texts(resource, "rights")),
    ]
    for name, values in fields:
        for value in values:
            etree.SubElement(dc, f"{{{DC_NS}}}{name}").text = value
    return dc


# -- responses --------------------------------------------------------------------------------

def _oai(name: str) -> str:
    return f"{{{OAI_NS}}}{name}"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _oai(name))
    if text is not None:
        element.text = text
    return element


def _header(parent: etree._Element, record: Record) -> None:
    header = _sub(parent, "header")
    if record.deleted:
        header.set("status", "deleted")
    _sub(header, "identifier", record.ivoid)
    _sub(header, "datestamp", datestamp(record.updated))
    for spec in _valid_sets(record):
        _sub(header, "setSpec", spec)


def _record(parent: etree._Element, record: Record, prefix: str) -> None:
    element = _sub(parent, "record")
    _header(element, record)
    if not record.deleted:
        resource = _resource(record)
        metadata = _sub(element, "metadata")
        metadata.append(resource if prefix == "ivo_vor" else dublin_core(resource))


def _identify(body: etree._Element, records: dict[str, Record], repo: Repository) -> None:
    earliest = min([_utc(repo.earliest)] + [_utc(r.updated) for r in records.values()])
    _sub(body, "repositoryName", repo.name)
    _sub(body, "baseURL", repo.base_url)
    _sub(body, "protocolVersion", "2.0")
    _sub(body, "adminEmail", repo.admin_email)
    _sub(body, "earliestDatestamp", datestamp(earliest))
    _sub(body, "deletedRecord", "persistent")
    _sub(body, "granularity", GRANULARITY)
    own = records.get(repo.ivoid.lower())
    resource = _resource(own) if own is not None and not own.deleted else None
    if resource is None or _xsi_type(resource) != (VG_NS, "Registry"):
        log.error("OAI Identify: no vg:Registry record %s among the records", repo.ivoid)
        return
    _sub(body, "description").append(resource)


def _list_metadata_formats(body: etree._Element, values: dict[str, str],
                           records: dict[str, Record]) -> None:
    identifier = values.get("identifier")
    if identifier is not None and identifier.lower() not in records:
        raise _fail("idDoesNotExist", f"there is no record {identifier}")
    for prefix, (schema, namespace) in FORMATS.items():
        entry = _sub(body, "metadataFormat")
        _sub(entry, "metadataPrefix", prefix)
        _sub(entry, "schema", schema)
        _sub(entry, "metadataNamespace", namespace)


def _list_sets(body: etree._Element, values: dict[str, str],
               records: dict[str, Record]) -> None:
    if "resumptionToken" in values:
        raise _fail("badResumptionToken", "the set list is never split: no token is valid")
    specs = {MANAGED_SET}
    for record in records.values():
        for spec in _valid_sets(record):
            parts = spec.split(":")
            specs.update(":".join(parts[:n]) for n in range(1, len(parts) + 1))
    for spec in sorted(specs):
        entry = _sub(body, "set")
        _sub(entry, "setSpec", spec)
        _sub(entry, "setName", SET_NAMES.get(spec, spec))


def _get_record(body: etree._Element, values: dict[str, str],
                records: dict[str, Record]) -> None:
    errors = []
    record = records.get(values["identifier"].lower())
    if record is None:
        errors.append(("idDoesNotExist", f"there is no record {values['identifier']}"))
    if values["metadataPrefix"] not in FORMATS:
        errors.append(("cannotDisseminateFormat", f"no format {values['metadataPrefix']!r}; "
                       f"there are {', '.join(FORMATS)}"))
    if errors:
        raise _Failure(errors)
    assert record is not None
    _record(body, record, values["metadataPrefix"])


def _list(body: etree._Element, verb: str, values: dict[str, str],
          records: dict[str, Record], repo: Repository, now: datetime) -> None:
    token = values.get("resumptionToken")
    if token is not None:
        query = _decode_token(token, verb, now)
    else:
        query = _Query(verb, values["metadataPrefix"], values.get("set"), values.get("from"),
                       values.get("until"))
        if query.prefix not in FORMATS:
            raise _fail("cannotDisseminateFormat", f"no format {query.prefix!r}; there are "
                                                   f"{', '.join(FORMATS)}")
    lower, upper = query.lower, query.upper
    matching = sorted(
        (r for r in records.values()
         if (query.set_spec is None or _in_set(r, query.set_spec))
         and (lower is None or _utc(r.updated) >= lower)
         and (upper is None or _utc(r.updated) <= upper)),
        key=_key)
    remaining = [r for r in matching if query.after is None or _key(r) > query.after]
    if not remaining:
        raise _fail("noRecordsMatch", "no records match the from, until and set arguments"
                    if token is None else "no records are left in this list")
    page = remaining[:max(1, repo.page_size)]
    for record in page:
        if verb == "ListIdentifiers":
            _header(body, record)
        else:
            _record(body, record, query.prefix)
    total = query.cursor + len(remaining)
    if len(remaining) > len(page):
        expires = now + repo.token_lifetime
        following = _Query(verb, query.prefix, query.set_spec, query.from_text,
                           query.until_text, _key(page[-1]), query.cursor + len(page))
        element = _sub(body, "resumptionToken", _encode_token(following, expires))
        element.set("expirationDate", datestamp(expires))
    elif token is not None:  # the last page of a split list: an empty token
        element = _sub(body, "resumptionToken")
    else:
        return
    element.set("completeListSize", str(total))
    element.set("cursor", str(query.cursor))


def _envelope(base_url: str, now: datetime) -> tuple[etree._Element, etree._Element]:
    """The OAI-PMH root with responseDate, and its (still attribute-less) request element."""
    root = etree.Element(_oai("OAI-PMH"), nsmap={"oai": OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} {OAI_SCHEMA}")
    _sub(root, "responseDate", datestamp(now))
    return root, _sub(root, "request", base_url)


def respond(arguments: Mapping[str, Sequence[str]], records: Sequence[Record],
            repository: Repository, now: datetime | None = None) -> bytes:
    """The OAI-PMH response document to one request.

    `arguments` maps each argument name to all the values it was given (GET query or POST
    form); `records` must include the registry's own vg:Registry and vg:Authority records.
    Raises RecordError only if a record that has to be sent is not well-formed XML.
    """
    now = _utc(now or datetime.now(UTC))
    root, request = _envelope(repository.base_url, now)
    try:
        verb, values = _check_arguments(arguments)
        request.set("verb", verb)
        for name in ARGUMENTS[1:]:
            if name in values:
                request.set(name, values[name])
        index = _index(records)
        body = etree.Element(_oai(verb))
        if verb == "Identify":
            _identify(body, index, repository)
        elif verb == "ListMetadataFormats":
            _list_metadata_formats(body, values, index)
        elif verb == "ListSets":
            _list_sets(body, values, index)
        elif verb == "GetRecord":
            _get_record(body, values, index)
        else:
            _list(body, verb, values, index, repository, now)
        root.append(body)
    except _Failure as failure:
        if not failure.echo:
            request.attrib.clear()
        for code, message in failure.errors:
            _sub(root, "error", message).set("code", code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- HTTP -------------------------------------------------------------------------------------

router = APIRouter()


class _BadRequest(Exception):
    """The request's arguments cannot even be read (encoding, content type, size)."""


def _parse_pairs(text: str, into: dict[str, list[str]]) -> None:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=64)
    except ValueError as exc:  # UnicodeDecodeError included
        raise _BadRequest(f"the arguments cannot be read: {exc}") from None
    for name, value in pairs:
        into.setdefault(name, []).append(value)


async def _arguments(request: Request) -> dict[str, list[str]]:
    """All arguments: the query string, and the form-encoded body of a POST."""
    arguments: dict[str, list[str]] = {}
    try:
        _parse_pairs(request.scope.get("query_string", b"").decode("utf-8"), arguments)
    except UnicodeDecodeError:
        raise _BadRequest("the query string is not UTF-8 text") from None
    if request.method != "POST":
        return arguments
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _BadRequest(f"the request body is larger than {MAX_BODY} bytes")
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([\w-]+)", parameters)
    if body and media_type.strip().lower() != "application/x-www-form-urlencoded":
        raise _BadRequest("a POST request carries its arguments as "
                          "application/x-www-form-urlencoded")
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise _BadRequest("the arguments must be UTF-8 text")
    try:
        _parse_pairs(body.decode("utf-8"), arguments)
    except UnicodeDecodeError:
        raise _BadRequest("the request body is not UTF-8 text") from None
    return arguments


def endpoint_url(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None)
    configured = getattr(settings, "public_url", None)
    return f"{(configured or str(request.base_url)).rstrip('/')}{PATH}"


def error_document(code: str, message: str, base_url: str,
                   now: datetime | None = None) -> bytes:
    """An OAI error response for a request whose arguments could not be read."""
    root, _ = _envelope(base_url, now or datetime.now(UTC))
    _sub(root, "error", message).set("code", code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@router.get(PATH, summary="OAI-PMH 2.0 (publishing registry)", response_class=Response)
async def oai_pmh_get(request: Request) -> Response:
    return await _oai_pmh(request)


@router.post(PATH, summary="OAI-PMH 2.0 (publishing registry), arguments form-encoded",
             response_class=Response)
async def oai_pmh_post(request: Request) -> Response:
    return await _oai_pmh(request)


async def _oai_pmh(request: Request) -> Response:
    base_url = endpoint_url(request)
    try:
        arguments = await _arguments(request)
    except _BadRequest as exc:
        return Response(error_document("badArgument", str(exc), base_url),
                        media_type=XML_MEDIA_TYPE)
    registry = request.app.state.services.registry
    try:
        repository = Repository(
            ivoid=registry.ivoid, admin_email=registry.admin_email, name=registry.name,
            base_url=base_url, earliest=registry.earliest,
            page_size=getattr(registry, "page_size", DEFAULT_PAGE_SIZE),
            token_lifetime=getattr(registry, "token_lifetime", DEFAULT_TOKEN_LIFETIME))

        def answer() -> bytes:
            return respond(arguments, registry.records(), repository)

        document = await run_in_threadpool(answer)
    except Exception:  # the record source or a stored record: not the harvester's fault
        log.exception("OAI-PMH request %s failed", dict(arguments))
        return PlainTextResponse("the registry's records are unavailable just now\n",
                                 status_code=503, headers={"Retry-After": "60"})
    return Response(document, media_type=XML_MEDIA_TYPE)
