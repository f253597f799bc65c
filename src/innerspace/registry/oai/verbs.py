"""The six OAI-PMH verbs over a list of records, and `respond`, which answers one request
with its whole response document (OAI errors included: they are answers, not failures)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from lxml import etree

from innerspace.registry.oai.documents import (
    add_header,
    add_record,
    envelope,
    oai,
    resource_of,
    sub,
    valid_sets,
    xsi_type,
)
from innerspace.registry.oai.protocol import (
    ARGUMENTS,
    FORMATS,
    GRANULARITY,
    SET_NAMES,
    OAIFailure,
    Query,
    Repository,
    check_arguments,
    datestamp,
    fail,
    utc,
)
from innerspace.registry.oai.tokens import decode_token, encode_token
from innerspace.registry.records import MANAGED_SET, VG_NS, Record

log = logging.getLogger("innerspace.registry")


def key(record: Record) -> tuple[datetime, str]:
    """The order of lists: datestamp (whole seconds), then ivoid."""
    return utc(record.updated), record.ivoid


def in_set(record: Record, spec: str) -> bool:
    """Whether the record is in the set `spec` or in one of its subsets."""
    return any(s == spec or s.startswith(spec + ":") for s in record.sets)


def index_of(records: Sequence[Record]) -> dict[str, Record]:
    """Records by lower-case ivoid; of duplicates, the latest update wins."""
    index: dict[str, Record] = {}
    for record in records:
        ivoid = record.ivoid.lower()
        if ivoid not in index or key(record) > key(index[ivoid]):
            index[ivoid] = record
    return index


def _identify(body: etree._Element, records: dict[str, Record], repo: Repository) -> None:
    earliest = min([utc(repo.earliest)] + [utc(r.updated) for r in records.values()])
    sub(body, "repositoryName", repo.name)
    sub(body, "baseURL", repo.base_url)
    sub(body, "protocolVersion", "2.0")
    sub(body, "adminEmail", repo.admin_email)
    sub(body, "earliestDatestamp", datestamp(earliest))
    sub(body, "deletedRecord", "persistent")
    sub(body, "granularity", GRANULARITY)
    own = records.get(repo.ivoid.lower())
    resource = resource_of(own) if own is not None and not own.deleted else None
    if resource is None or xsi_type(resource) != (VG_NS, "Registry"):
        log.error("OAI Identify: no vg:Registry record %s among the records", repo.ivoid)
        return
    sub(body, "description").append(resource)


def _list_metadata_formats(body: etree._Element, values: dict[str, str],
                           records: dict[str, Record]) -> None:
    identifier = values.get("identifier")
    if identifier is not None and identifier.lower() not in records:
        raise fail("idDoesNotExist", f"there is no record {identifier}")
    for prefix, (schema, namespace) in FORMATS.items():
        entry = sub(body, "metadataFormat")
        sub(entry, "metadataPrefix", prefix)
        sub(entry, "schema", schema)
        sub(entry, "metadataNamespace", namespace)


def _list_sets(body: etree._Element, values: dict[str, str],
               records: dict[str, Record]) -> None:
    if "resumptionToken" in values:
        raise fail("badResumptionToken", "the set list is never split: no token is valid")
    specs = {MANAGED_SET}
    for record in records.values():
        for spec in valid_sets(record):
            parts = spec.split(":")
            specs.update(":".join(parts[:n]) for n in range(1, len(parts) + 1))
    for spec in sorted(specs):
        entry = sub(body, "set")
        sub(entry, "setSpec", spec)
        sub(entry, "setName", SET_NAMES.get(spec, spec))


def _get_record(body: etree._Element, values: dict[str, str],
                records: dict[str, Record]) -> None:
    errors: list[tuple[str, str]] = []
    record = records.get(values["identifier"].lower())
    if record is None:
        errors.append(("idDoesNotExist", f"there is no record {values['identifier']}"))
    if values["metadataPrefix"] not in FORMATS:
        errors.append(("cannotDisseminateFormat", f"no format {values['metadataPrefix']!r}; "
                       f"there are {', '.join(FORMATS)}"))
    if errors:
        raise OAIFailure(errors)
    assert record is not None
    add_record(body, record, values["metadataPrefix"])


def _list(body: etree._Element, verb: str, values: dict[str, str],
          records: dict[str, Record], repo: Repository, now: datetime) -> None:
    token = values.get("resumptionToken")
    if token is not None:
        query = decode_token(token, verb, now)
    else:
        query = Query(verb, values["metadataPrefix"], values.get("set"), values.get("from"),
                      values.get("until"))
        if query.prefix not in FORMATS:
            raise fail("cannotDisseminateFormat", f"no format {query.prefix!r}; there are "
                                                  f"{', '.join(FORMATS)}")
    lower, upper = query.lower, query.upper
    matching = sorted(
        (r for r in records.values()
         if (query.set_spec is None or in_set(r, query.set_spec))
         and (lower is None or utc(r.updated) >= lower)
         and (upper is None or utc(r.updated) <= upper)),
        key=key)
    remaining = [r for r in matching if query.after is None or key(r) > query.after]
    if not remaining:
        raise fail("noRecordsMatch", "no records match the from, until and set arguments"
                   if token is None else "no records are left in this list")
    page = remaining[:max(1, repo.page_size)]
    for record in page:
        if verb == "ListIdentifiers":
            add_header(body, record)
        else:
            add_record(body, record, query.prefix)
    total = query.cursor + len(remaining)
    if len(remaining) > len(page):
        expires = now + repo.token_lifetime
        following = Query(verb, query.prefix, query.set_spec, query.from_text,
                          query.until_text, key(page[-1]), query.cursor + len(page))
        element = sub(body, "resumptionToken", encode_token(following, expires))
        element.set("expirationDate", datestamp(expires))
    elif token is not None:  # the last page of a split list: an empty token
        element = sub(body, "resumptionToken")
    else:
        return
    element.set("completeListSize", str(total))
    element.set("cursor", str(query.cursor))


def respond(arguments: Mapping[str, Sequence[str]], records: Sequence[Record],
            repository: Repository, now: datetime | None = None) -> bytes:
    """The OAI-PMH response document to one request.

    `arguments` maps each argument name to all the values it was given (GET query or POST
    form); `records` must include the registry's own vg:Registry and vg:Authority records.
    Raises RecordError only if a record that has to be sent is not well-formed XML.
    """
    now = utc(now or datetime.now(UTC))
    root, request = envelope(repository.base_url, now)
    try:
        verb, values = check_arguments(arguments)
        request.set("verb", verb)
        for name in ARGUMENTS[1:]:
            if name in values:
                request.set(name, values[name])
        index = index_of(records)
        body = etree.Element(oai(verb))
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
    except OAIFailure as failure:
        if not failure.echo:
            request.attrib.clear()
        for code, message in failure.errors:
            sub(root, "error", message).set("code", code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

