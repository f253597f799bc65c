"""The `rr` tables of RegTAP 1.1 as data: every table and column the standard defines, with
its type, description, xpath utype, unit and the principal flag, plus the primary keys,
indexes and foreign keys this service gives them. `schema` turns them into SQL and
TAP_SCHEMA; `ingest` fills them."""

from __future__ import annotations

from dataclasses import dataclass

from innerspace.registry.regtap.reserved import adql_name


@dataclass(frozen=True)
class Column:
    """One column: its type (string, timestamp, smallint, integer, bigint or real: SQL
    types, written as VOTable types by `schema.VOTABLE_TYPES`) and TAP metadata; `std`: a
    standard defines it."""

    name: str
    type: str
    description: str
    utype: str | None = None
    unit: str | None = None
    principal: bool = False
    std: bool = True

    @property
    def adql_name(self) -> str:
        """The name as ADQL writes it: delimited if it is a reserved word."""
        return adql_name(self.name)


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key to `target`, a table of the same schema: (from, target) column pairs."""

    target: str
    columns: tuple[tuple[str, str], ...]


def refs(target: str, *names: str) -> tuple[ForeignKey]:
    """One foreign key to `target` over columns of the same names in both tables."""
    return (ForeignKey(target, tuple((name, name) for name in names)),)


@dataclass(frozen=True)
class Table:
    """One table: its columns, keys and indexes, and the foreign keys to other tables."""

    name: str  # unqualified, e.g. "resource"
    description: str
    utype: str | None
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def indexed(self) -> frozenset[str]:
        """The columns an index (or the primary key) can search by: the first of each."""
        return frozenset(columns[0] for columns in (*self.indexes, self.primary_key)
                         if columns)


# name, type, xpath below the table's utype (None: none), description[, unit]
ColumnSpec = tuple[str, str, str | None, str] | tuple[str, str, str | None, str, str]


def cols(*specs: ColumnSpec) -> tuple[Column, ...]:
    columns = []
    for spec in specs:
        name, kind, utype, description = spec[:4]
        unit = spec[4] if len(spec) == 5 else None
        columns.append(Column(name, kind, description, f"xpath:{utype}" if utype else None,
                              unit, principal=name in _PRINCIPAL))
    return tuple(columns)


_PRINCIPAL = {"ivoid", "res_type", "short_name", "res_title", "standard_id", "access_url",
              "intf_type", "intf_role", "res_subject", "role_name", "base_role",
              "detail_xpath", "detail_value", "table_name", "name", "ucd", "cap_type"}

_PARENT = ("ivoid", "string", "/identifier", "The parent resource (lower-cased IVOA id).")
_DATATYPE_COLUMNS = (
    ("ucd", "string", "ucd", "A UCD describing the content (lower-cased)."),
    ("unit", "string", "unit", "The unit of the values."),
    ("utype", "string", "utype", "A data model role of the values (lower-cased)."),
    ("std", "smallint", "@std", "1 if the meaning is defined by a standard, 0 if not."),
    ("datatype", "string", "dataType", "The type of the values (lower-cased)."),
    ("extended_schema", "string", "dataType/@extendedSchema",
     "The schema of extended_type."),
    ("extended_type", "string", "dataType/@extendedType", "A custom type of the values."),
    ("arraysize", "string", "dataType/@arraysize", "The VOTable array shape (4, *, 5x*, ...)."),
    ("delim", "string", "dataType/@delim", "The delimiter between array elements."),
)

RR_TABLES: tuple[Table, ...] = (
    Table("resource", "The resources (services, data collections, organisations, ...) in "
          "this registry.", "xpath:/", cols(
              ("ivoid", "string", "identifier", "The IVOA identifier of the resource "
               "(lower-cased)."),
              ("res_type", "string", "@xsi:type", "The resource type (vs:catalogservice, "
               "vr:organisation, ...)."),
              ("created", "timestamp", "@created", "When the record was created (UTC)."),
              ("short_name", "string", "shortName", "A short name for the resource."),
              ("res_title", "string", "title", "The full name of the resource."),
              ("updated", "timestamp", "@updated", "When the record was last updated (UTC)."),
              ("content_level", "string", "content/contentLevel",
               "Intended audiences, #-separated (lower-cased)."),
              ("res_description", "string", "content/description",
               "What the resource is and does."),
              ("reference_url", "string", "content/referenceURL",
               "A human-readable page about the resource."),
              ("creator_seq", "string", "curation/creator/name",
               "The creators in document order, separated by '; '."),
              ("content_type", "string", "content/type",
               "Kinds of content, #-separated (lower-cased)."),
              ("source_format", "string", "content/source/@format",
               "The format of source_value, e.g. bibcode (lower-cased)."),
              ("source_value", "string", "content/source",
               "The bibliographic source of the resource."),
              ("res_version", "string", "curation/version", "The version of the resource."),
              ("region_of_regard", "real", "coverage/regionOfRegard",
               "The positional blur of queries against the resource.", "deg"),
              ("waveband", "string", "coverage/waveband",
               "Messengers covered, #-separated (lower-cased)."),
              ("rights", "string", "/rights", "Usage conditions (the first rights element)."),
              ("rights_uri", "string", "/rights/@rightsURI",
               "The URI of the licence (the first rights element)."),
          ), primary_key=("ivoid",), indexes=(("res_type",),)),
    Table("res_role", "Persons and organisations acting on resources: contacts, publishers, "
          "creators, contributors.", None, cols(
              _PARENT,
              ("role_name", "string", None, "The name of the person or organisation."),
              ("role_ivoid", "string", None, "Its IVOA identifier (lower-cased)."),
              ("street_address", "string", None, "Its postal address (contacts)."),
              ("email", "string", None, "Its email address (contacts)."),
              ("telephone", "string", None, "Its telephone number (contacts)."),
              ("logo", "string", None, "A logo URL (creators)."),
              ("base_role", "string", None,
               "contact, publisher, creator or contributor."),
          ), indexes=(("ivoid",), ("role_name",), ("base_role",)),
          foreign_keys=refs("resource", "ivoid")),
    Table("res_subject", "Subject keywords of resources.", "xpath:/content/", cols(
        _PARENT,
        ("res_subject", "string", "subject", "A topic or keyword of the resource."),
    ), indexes=(("ivoid",), ("res_subject",)), foreign_keys=refs("resource", "ivoid")),
    Table("capability", "Pieces of behaviour of a resource (one per protocol endpoint).",
          "xpath:/capability/", cols(
              _PARENT,
              ("cap_index", "smallint", None, "The capability's index within the resource."),
              ("cap_type", "string", "@xsi:type",
               "The capability type (lower-cased); prefer standard_id for discovery."),
              ("cap_description", "string", "description",
               "What the capability provides."),
              ("standard_id", "string", "@standardID",
               "The standard the capability implements (lower-cased)."),
          ), primary_key=("ivoid", "cap_index"), indexes=(("standard_id",), ("cap_type",)),
          foreign_keys=refs("resource", "ivoid")),
    Table("res_schema", "Sets of tables of resources.", "xpath:/tableset/schema/", cols(
        _PARENT,
        ("schema_index", "smallint", None, "The schema's index within the resource."),
        ("schema_description", "string", "description", "What the tables have in common."),
        ("schema_name", "string", "name", "The name of the schema (lower-cased)."),
        ("schema_title", "string", "title", "A human-readable name of the schema."),
        ("schema_utype", "string", "utype", "The data model of the schema (lower-cased)."),
    ), primary_key=("ivoid", "schema_index"), foreign_keys=refs("resource", "ivoid")),
    Table("res_table", "Tables of resources, within schemas or not.",
          "xpath:/(tableset/schema/|)table/", cols(
              _PARENT,
              ("schema_index", "smallint", None, "The index of its schema, if any."),
              ("table_description", "string", "description", "What the table holds."),
              ("table_name", "string", "name", "The fully qualified name of the table."),
              ("table_index", "smallint", None, "The table's index within the resource."),
              ("table_title", "string", "title", "A human-readable name of the table."),
              ("table_type", "string", "@type", "output, base_table, view, ..."),
              ("table_utype", "string", "utype", "The data model of the table (lower-cased)."),
          ), primary_key=("ivoid", "table_index"), indexes=(("table_utype",),),
          foreign_keys=refs("resource", "ivoid")),
    Table("table_column", "Columns of the tables of resources.",
          "xpath:/(tableset/schema/|)/table/column/", cols(
              _PARENT,
              ("table_index", "smallint", None, "The index of its table."),
              ("name", "string", "name", "The name of the column (lower-cased)."),
              *_DATATYPE_COLUMNS,
              ("type_system", "string", "dataType/@xsi:type",
               "The type system: vs:votabletype, vs:taptype, ..."),
              ("flag", "string", "flag", "Traits (indexed, primary, nullable), #-separated."),
              ("column_description", "string", "description", "What the column holds."),
          ), indexes=(("ivoid", "table_index"), ("ucd",), ("name",), ("utype",)),
          foreign_keys=refs("res_table", "ivoid", "table_index")),
    Table("interface", "Access modes of capabilities (one access URL each).",
          "xpath:/capability/interface/", cols(
              _PARENT,
              ("cap_index", "smallint", None, "The index of the parent capability."),
              ("intf_index", "smallint", None, "The interface's index within the resource."),
              ("intf_type", "string", "@xsi:type", "vs:paramhttp, vr:webbrowser, ..."),
              ("intf_role", "string", "@role", "std for a standard interface."),
              ("std_version", "string", "@version", "The version of the standard."),
              ("query_type", "string", "queryType", "HTTP methods, #-separated."),
              ("result_type", "string", "resultType", "The MIME type of results."),
              ("wsdl_url", "string", "wsdlURL", "The WSDL of a web service."),
              ("url_use", "string", "accessURL/@use", "base, full or dir."),
              ("access_url", "string", "accessURL", "The URL of the interface."),
              ("mirror_url", "string", "mirrorURL", "Mirror URLs, #-separated."),
              ("authenticated_only", "smallint", None,
               "1 if only authenticated clients are served, else 0."),
          ), primary_key=("ivoid", "intf_index"),
          indexes=(("ivoid", "cap_index"), ("intf_type",), ("access_url",)),
          foreign_keys=refs("capability", "ivoid", "cap_index")),
    Table("intf_param", "Input parameters of interfaces.",
          "xpath:/capability/interface/param/", cols(
              _PARENT,
              ("intf_index", "smallint", None, "The index of the interface."),
              ("name", "string", "name", "The name of the parameter (lower-cased)."),
              *_DATATYPE_COLUMNS,
              ("param_use", "string", "@use", "required, optional or ignored."),
              ("param_description", "string", "description", "What the parameter means."),
          ), indexes=(("ivoid", "intf_index"),),
          foreign_keys=refs("interface", "ivoid", "intf_index")),
    Table("relationship", "Relationships between resources (serving, mirroring, derivation).",
          "xpath:/content/relationship/", cols(
              _PARENT,
              ("relationship_type", "string", "relationshipType",
               "The DataCite-compatible relationship (lower-cased)."),
              ("related_id", "string", "relatedResource/@ivo-id",
               "The IVOA identifier of the related resource (lower-cased)."),
              ("related_name", "string", "relatedResource", "The name of the related resource."),
          ), indexes=(("ivoid",), ("related_id",)), foreign_keys=refs("resource", "ivoid")),
    Table("validation", "Validation levels of resources and capabilities.",
          "xpath:/(capability/|)validationLevel", cols(
              _PARENT,
              ("validated_by", "string", "validationLevel/@validatedBy",
               "Who validated (lower-cased IVOA identifier)."),
              ("val_level", "smallint", "validationLevel", "The validation level, 0 to 4."),
              ("cap_index", "smallint", None, "The validated capability (NULL: the resource)."),
          ), indexes=(("ivoid",),), foreign_keys=refs("resource", "ivoid")),
    Table("res_date", "Dates in the life cycle of resources.", "xpath:/curation/", cols(
        _PARENT,
        ("date_value", "timestamp", "date", "The date (UTC)."),
        ("value_role", "string", "date/@role", "What happened then (created, updated, ...)."),
    ), indexes=(("ivoid",),), foreign_keys=refs("resource", "ivoid")),
    Table("res_detail", "XPath-value pairs of less common metadata of resources and "
          "capabilities (data models, languages, output formats, limits, ...).", None, cols(
              _PARENT,
              ("cap_index", "smallint", None, "The capability (NULL: the whole resource)."),
              ("detail_xpath", "string", None, "The xpath of the item."),
              ("detail_value", "string", None, "Its value (not case-normalised)."),
          ), indexes=(("ivoid", "cap_index"), ("detail_xpath", "detail_value")),
          foreign_keys=refs("resource", "ivoid")),
    Table("alt_identifier", "Alternative identifiers (DOIs, ORCIDs, bibcodes) of resources "
          "and their creators.", "xpath:/(curation/creator/|)altIdentifier", cols(
              _PARENT,
              ("alt_identifier", "string", None, "An identifier in URI form."),
          ), indexes=(("ivoid",), ("alt_identifier",)),
          foreign_keys=refs("resource", "ivoid")),
)
