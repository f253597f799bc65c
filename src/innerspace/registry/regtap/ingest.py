"""VOResource records -> rows of the rr tables, following RegTAP 1.1 (with its Erratum 1:
table names keep their case): strings stripped and empty ones NULL, identifiers and
enumerated values lower-cased, QNames with the canonical prefixes, hash-joined lists,
res_detail xpaths for capability extensions (never interface access URLs), deprecated
vocabulary terms translated."""

from __future__ import annotations

from datetime import UTC

from lxml import etree

from innerspace.registry.records import XSI_TYPE, Record, safe_parser
from innerspace.registry.regtap.elements import (
    attribute,
    boolean_of,
    child,
    children,
    hash_list,
    integer_of,
    local_name,
    lowered,
    plain_attributes,
    qname,
    real_of,
    text_of,
    timestamp_of,
)
from innerspace.registry.regtap.schema import Row, Rows

# RegTAP 1.1 appendix C: deprecated VOResource 1.0 terms and their replacements.
DATE_ROLES = {"representative": "collected", "creation": "created", "update": "updated"}
RELATIONSHIP_TYPES = {"mirror-of": "isidenticalto", "service-for": "isservicefor",
                      "served-by": "isservedby", "derived-from": "isderivedfrom"}
# Resource-level elements whose text (and attributes) go to res_detail as /NAME[/@attr].
_RESOURCE_DETAILS = ("facility", "instrument", "format", "accessURL", "full",
                     "managedAuthority", "managingOrg", "deprecated", "endorsedVersion",
                     "rights")
_CAPABILITY_SKIPPED = {"description", "interface", "validationLevel"}


class SkippedRecord(Exception):
    """A record that is not ingested (inactive, deleted, or unusable); the message says
    which."""


def record_rows(record: Record) -> dict[str, list[Row]]:
    """The rr rows of one record, by table name. Raises SkippedRecord."""
    if record.deleted:
        raise SkippedRecord("deleted")
    try:
        root = etree.fromstring(record.xml, safe_parser(remove_comments=True, remove_pis=True))
    except etree.XMLSyntaxError as exc:
        raise SkippedRecord(f"not well-formed XML: {exc}") from None
    status = (root.get("status") or "active").strip().lower()
    if status != "active":
        raise SkippedRecord(status)
    ivoid = lowered(text_of(child(root, "identifier"))) or record.ivoid.lower()
    if not ivoid:
        raise SkippedRecord("no identifier")
    rows = Rows()
    _resource(rows, ivoid, root, record)
    for level in children(root, "validationLevel"):
        rows.add("validation", ivoid=ivoid,
                 validated_by=lowered(attribute(level, "validatedBy")),
                 val_level=integer_of(text_of(level)), cap_index=None)
    for alt in children(root, "altIdentifier"):
        if value := text_of(alt):
            rows.add("alt_identifier", ivoid=ivoid, alt_identifier=value)
    if (curation := child(root, "curation")) is not None:
        _curation(rows, ivoid, curation)
    if (content := child(root, "content")) is not None:
        _content(rows, ivoid, content)
    _resource_details(rows, ivoid, root, child(root, "coverage"))
    for cap_index, capability in enumerate(children(root, "capability")):
        _capability(rows, ivoid, cap_index, capability)
    _tables(rows, ivoid, root)
    return rows.tables


def _resource(rows: Rows, ivoid: str, root: etree._Element, record: Record) -> None:
    """The rr.resource row."""
    curation, content = child(root, "curation"), child(root, "content")
    coverage, rights = child(root, "coverage"), child(root, "rights")
    source = child(content, "source")
    updated = timestamp_of(root.get("updated")) or record.updated.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S")
    creators = children(curation, "creator") if curation is not None else []
    rows.add("resource", ivoid=ivoid, res_type=qname(root, root.get(XSI_TYPE)),
             created=timestamp_of(root.get("created")), updated=updated,
             short_name=text_of(child(root, "shortName")),
             res_title=text_of(child(root, "title")),
             content_level=hash_list(text_of(e) for e in children(content, "contentLevel")
                                     ) if content is not None else None,
             res_description=text_of(child(content, "description")),
             reference_url=text_of(child(content, "referenceURL")),
             creator_seq="; ".join(name for c in creators
                                   if (name := text_of(child(c, "name")))) or None,
             content_type=hash_list(text_of(e) for e in children(content, "type")
                                    ) if content is not None else None,
             source_format=lowered(attribute(source, "format")), source_value=text_of(source),
             res_version=text_of(child(curation, "version")),
             region_of_regard=real_of(text_of(child(coverage, "regionOfRegard"))),
             waveband=hash_list(text_of(e) for e in children(coverage, "waveband")
                                ) if coverage is not None else None,
             rights=text_of(rights), rights_uri=attribute(rights, "rightsURI"))


def _curation(rows: Rows, ivoid: str, curation: etree._Element) -> None:
    for element in curation:
        kind = local_name(element)
        if kind == "publisher":
            rows.add("res_role", ivoid=ivoid, base_role="publisher",
                     role_name=text_of(element), role_ivoid=lowered(attribute(element, "ivo-id")))
        elif kind == "contributor":
            rows.add("res_role", ivoid=ivoid, base_role="contributor",
                     role_name=text_of(element), role_ivoid=lowered(attribute(element, "ivo-id")))
        elif kind == "creator":
            name = child(element, "name")
            rows.add("res_role", ivoid=ivoid, base_role="creator", role_name=text_of(name),
                     role_ivoid=lowered(attribute(name, "ivo-id") or attribute(element, "ivo-id")),
                     logo=text_of(child(element, "logo")))
            for alt in children(element, "altIdentifier"):
                if value := text_of(alt):
                    rows.add("alt_identifier", ivoid=ivoid, alt_identifier=value)
        elif kind == "contact":
            name = child(element, "name")
            rows.add("res_role", ivoid=ivoid, base_role="contact", role_name=text_of(name),
                     role_ivoid=lowered(attribute(name, "ivo-id") or attribute(element, "ivo-id")),
                     street_address=text_of(child(element, "address")),
                     email=text_of(child(element, "email")),
                     telephone=text_of(child(element, "telephone")))
        elif kind == "date":
            role = (attribute(element, "role") or "representative").lower()
            rows.add("res_date", ivoid=ivoid, date_value=timestamp_of(text_of(element)),
                     value_role=DATE_ROLES.get(role, role))


def _content(rows: Rows, ivoid: str, content: etree._Element) -> None:
    for subject in children(content, "subject"):
        if value := text_of(subject):
            rows.add("res_subject", ivoid=ivoid, res_subject=value)
    for relationship in children(content, "relationship"):
        kind = (text_of(child(relationship, "relationshipType")) or "").lower() or None
        kind = RELATIONSHIP_TYPES.get(kind or "", kind)
        for related in children(relationship, "relatedResource"):
            rows.add("relationship", ivoid=ivoid, relationship_type=kind,
                     related_id=lowered(attribute(related, "ivo-id")),
                     related_name=text_of(related))


def _detail(rows: Rows, ivoid: str, cap_index: int | None, xpath: str,
            value: str | None) -> None:
    if value:
        rows.add("res_detail", ivoid=ivoid, cap_index=cap_index, detail_xpath=xpath,
                 detail_value=value)


def _resource_details(rows: Rows, ivoid: str, root: etree._Element,
                      coverage: etree._Element | None) -> None:
    for name in _RESOURCE_DETAILS:
        for element in children(root, name):
            _detail(rows, ivoid, None, f"/{name}", text_of(element))
            for attribute_name, value in plain_attributes(element):
                _detail(rows, ivoid, None, f"/{name}/@{attribute_name}", value)
    for schema in children(root, "schema"):  # StandardsRegExt
        _detail(rows, ivoid, None, "/schema/@namespace", attribute(schema, "namespace"))
    for footprint in children(coverage, "footprint") if coverage is not None else []:
        _detail(rows, ivoid, None, "/coverage/footprint", text_of(footprint))
        _detail(rows, ivoid, None, "/coverage/footprint/@ivo-id", attribute(footprint, "ivo-id"))


def _capability_details(rows: Rows, ivoid: str, cap_index: int, element: etree._Element,
                        path: str) -> None:
    """Every leaf below a capability (but languageFeatures, which RegTAP cannot represent)
    as an xpath/value pair; attributes as .../@name."""
    for attribute_name, value in plain_attributes(element):
        _detail(rows, ivoid, cap_index, f"{path}/@{attribute_name}", value)
    below = [item for item in element if isinstance(item.tag, str)]
    if not below:
        _detail(rows, ivoid, cap_index, path, text_of(element))
    for item in below:
        if local_name(item) != "languageFeatures":
            _capability_details(rows, ivoid, cap_index, item, f"{path}/{local_name(item)}")


def _capability(rows: Rows, ivoid: str, cap_index: int, capability: etree._Element) -> None:
    rows.add("capability", ivoid=ivoid, cap_index=cap_index,
             cap_type=qname(capability, capability.get(XSI_TYPE)),
             cap_description=text_of(child(capability, "description")),
             standard_id=lowered(attribute(capability, "standardID")))
    for level in children(capability, "validationLevel"):
        rows.add("validation", ivoid=ivoid, validated_by=lowered(attribute(level, "validatedBy")),
                 val_level=integer_of(text_of(level)), cap_index=cap_index)
    for item in capability:
        if isinstance(item.tag, str) and local_name(item) not in _CAPABILITY_SKIPPED:
            _capability_details(rows, ivoid, cap_index, item, f"/capability/{local_name(item)}")
    for interface in children(capability, "interface"):
        intf_index = len(rows.tables.get("interface", ()))
        _interface(rows, ivoid, cap_index, intf_index, interface)


def _interface(rows: Rows, ivoid: str, cap_index: int, intf_index: int,
               interface: etree._Element) -> None:
    access_url = child(interface, "accessURL")
    methods = children(interface, "securityMethod")
    for method in methods:
        _detail(rows, ivoid, cap_index, "/capability/interface/securityMethod/@standardID",
                attribute(method, "standardID"))
    for test in children(interface, "testQueryString"):
        _detail(rows, ivoid, cap_index, "/capability/interface/testQueryString", text_of(test))
    rows.add("interface", ivoid=ivoid, cap_index=cap_index, intf_index=intf_index,
             intf_type=qname(interface, interface.get(XSI_TYPE)),
             intf_role=lowered(attribute(interface, "role")),
             std_version=lowered(attribute(interface, "version")),
             query_type=hash_list(text_of(e) for e in children(interface, "queryType")),
             result_type=lowered(text_of(child(interface, "resultType"))),
             wsdl_url=text_of(child(interface, "wsdlURL")),
             url_use=lowered(attribute(access_url, "use")), access_url=text_of(access_url),
             mirror_url="#".join(u for e in children(interface, "mirrorURL")
                                 if (u := text_of(e))) or None,
             authenticated_only=int(bool(methods) and all(attribute(m, "standardID")
                                                          for m in methods)))
    for param in children(interface, "param"):
        rows.add("intf_param", ivoid=ivoid, intf_index=intf_index,
                 **_typed_item(param), param_use=lowered(attribute(param, "use")),
                 param_description=text_of(child(param, "description")))


def _firsts(element: etree._Element) -> dict[str, etree._Element]:
    """The first child of each local name: one pass over the children, where a `child`
    look-up per name makes one each (columns are most of the rows of a large registry)."""
    found: dict[str, etree._Element] = {}
    for item in element:
        found.setdefault(local_name(item), item)
    return found


def _typed_item(element: etree._Element) -> Row:
    """The columns table_column and intf_param share (name, ucd, ..., delim)."""
    firsts = _firsts(element)
    datatype = firsts.get("dataType")
    return {"name": lowered(text_of(firsts.get("name"))),
            "ucd": lowered(text_of(firsts.get("ucd"))),
            "unit": text_of(firsts.get("unit")),
            "utype": lowered(text_of(firsts.get("utype"))),
            "std": boolean_of(element.get("std")), "datatype": lowered(text_of(datatype)),
            "extended_schema": attribute(datatype, "extendedSchema"),
            "extended_type": attribute(datatype, "extendedType"),
            "arraysize": attribute(datatype, "arraysize"), "delim": attribute(datatype, "delim")}


def _tables(rows: Rows, ivoid: str, root: etree._Element) -> None:
    groups: list[tuple[int | None, etree._Element | None]] = [(None, root)]
    tableset = child(root, "tableset")
    if tableset is not None:
        for schema_index, schema in enumerate(children(tableset, "schema")):
            rows.add("res_schema", ivoid=ivoid, schema_index=schema_index,
                     schema_description=text_of(child(schema, "description")),
                     schema_name=lowered(text_of(child(schema, "name"))),
                     schema_title=text_of(child(schema, "title")),
                     schema_utype=lowered(text_of(child(schema, "utype"))))
            groups.append((schema_index, schema))
    table_index = 0
    for parent_index, parent in groups:
        for table in children(parent, "table") if parent is not None else []:
            rows.add("res_table", ivoid=ivoid, schema_index=parent_index,
                     table_description=text_of(child(table, "description")),
                     table_name=text_of(child(table, "name")), table_index=table_index,
                     table_title=text_of(child(table, "title")),
                     table_type=lowered(attribute(table, "type")),
                     table_utype=lowered(text_of(child(table, "utype"))))
            for column in children(table, "column"):
                datatype = child(column, "dataType")
                rows.add("table_column", ivoid=ivoid, table_index=table_index,
                         **_typed_item(column),
                         type_system=qname(datatype, datatype.get(XSI_TYPE)
                                            if datatype is not None else None),
                         flag=hash_list(text_of(f) for f in children(column, "flag")),
                         column_description=text_of(child(column, "description")))
            table_index += 1

