"""OAI-PMH 2.0 as this registry speaks it (IVOA Registry Interfaces 1.1): the metadata
formats, sets, verbs and their arguments, the value syntaxes of OAI-PMH.xsd, datestamps,
and the checking of a request's arguments. A request the protocol refuses is an
`OAIFailure` carrying its OAI error codes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from innerspace.errors import BadRequest
from innerspace.registry.records import MANAGED_SET, RI_NS
from innerspace.xmltext import xml_safe

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
RI_SCHEMA = "http://www.ivoa.net/xml/RegistryInterface/RegistryInterface-v1.0.xsd"

# metadataPrefix -> (schema, metadataNamespace), as ListMetadataFormats reports them.
FORMATS: dict[str, tuple[str, str]] = {
    "ivo_vor": (RI_SCHEMA, RI_NS),
    "oai_dc": (OAI_DC_SCHEMA, OAI_DC_NS),
}
SET_NAMES = {MANAGED_SET: "Resources whose authorities this registry manages"}
DEFAULT_PAGE_SIZE = 100
DEFAULT_TOKEN_LIFETIME = timedelta(hours=24)
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"

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


class OAIFailure(BadRequest):
    """OAI errors ending a request; `echo` keeps the request element's attributes (OAI-PMH
    3.2 wants none after badVerb and badArgument)."""

    def __init__(self, errors: list[tuple[str, str]], echo: bool = True) -> None:
        super().__init__("; ".join(f"{code}: {message}" for code, message in errors))
        self.errors = errors
        self.echo = echo


def fail(code: str, message: str) -> OAIFailure:
    return OAIFailure([(code, message)])


# -- time -----------------------------------------------------------------------------------

def utc(moment: datetime) -> datetime:
    """Whole seconds in UTC (naive datetimes count as UTC): OAI datestamp precision."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def datestamp(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_bound(text: str, end_of_day: bool) -> tuple[datetime, bool] | None:
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
class Query:
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
        bound = parse_bound(self.from_text, False) if self.from_text else None
        return bound[0] if bound else None

    @property
    def upper(self) -> datetime | None:
        bound = parse_bound(self.until_text, True) if self.until_text else None
        return bound[0] if bound else None


def check_arguments(arguments: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments, or an OAIFailure with badVerb / badArgument (no echo)."""
    verbs = list(arguments.get("verb", ()))
    if not verbs:
        raise OAIFailure([("badVerb", "the verb argument is missing")], echo=False)
    if len(verbs) > 1:
        raise OAIFailure([("badVerb", "the verb argument is repeated")], echo=False)
    verb = verbs[0]
    if verb not in VERBS:
        shown = verb[:40] if xml_safe(verb) else "(not text)"
        raise OAIFailure([("badVerb", f"{shown!r} is not an OAI-PMH verb; the verbs are "
                         f"{', '.join(VERBS)}")], echo=False)
    required, allowed = VERBS[verb]
    problems: list[str] = []
    values: dict[str, str] = {}
    for name, given in arguments.items():
        if name == "verb":
            continue
        shown = name[:40] if xml_safe(name) else "(not text)"
        if name not in allowed:
            problems.append(f"{shown!r} is not an argument of {verb}" if name in ARGUMENTS
                            else f"{shown!r} is not an OAI-PMH argument")
        elif len(given) != 1:
            problems.append(f"the argument {name} is repeated")
        elif not xml_safe(given[0]):
            problems.append(f"the value of {name} holds characters that XML cannot carry")
        else:
            values[name] = given[0]
    if problems:
        raise OAIFailure([("badArgument", p) for p in problems], echo=False)
    if "resumptionToken" in values:
        if len(values) > 1:
            others = ", ".join(sorted(set(values) - {"resumptionToken"}))
            raise OAIFailure([("badArgument", f"resumptionToken is an exclusive argument "
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
            bound = parse_bound(values[name], name == "until")
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
        raise OAIFailure([("badArgument", p) for p in problems], echo=False)
    return verb, values

