"""The VOResource 1.1 records of a data centre, as `ri:Resource` documents:

- its naming authority (vg:Authority) and its publishing registry (vg:Registry, with the
  OAI-PMH harvest and RegTAP search capabilities),
- every service it publishes to external clients,
- this execution service (UWS 1.1 plus VOSI),
- its inner space (a vs:CatalogService: one capability per inner API, and a tableset with one
  schema per inner API and one table per data collection it exposes),
- every application in its catalogue (parameters, version, digest, served by the execution
  service).

They are written with lxml rather than vo-models: vo-models serialises a capability's
interface as the base `vr:Interface`, dropping `vs:ParamHTTP` parameters and
`vg:Harvest/maxRecords`, which these records need. Every record is checked against the IVOA
schemas in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree
from lxml.builder import ElementMaker

from innerspace import vocabulary
from innerspace.apps.catalogue import AppImage, version_key
from innerspace.apps.values import ParameterType
from innerspace.config.datacentre import DataCentre, InnerApi, PublishedService
from innerspace.registry.records import RI_NS, VG_NS, VR_NS, VS_NS, XSI_NS, XSI_TYPE
from innerspace.vocabulary import inner_api_kind

NSMAP = {"ri": RI_NS, "vr": VR_NS, "vs": VS_NS, "vg": VG_NS, "xsi": XSI_NS}
E = ElementMaker(nsmap=NSMAP)
UNDATED = "2000-01-01T00:00:00Z"  # the record store sets the real dates

_DATATYPES = {ParameterType.STRING: "char", ParameterType.ENUM: "char",
              ParameterType.URL: "char", ParameterType.FILE: "char",
              ParameterType.INTEGER: "long", ParameterType.FLOAT: "double",
              ParameterType.BOOLEAN: "boolean"}


@dataclass(frozen=True)
class Built:
    """A record as built: ivoid and the `ri:Resource` element (its dates not yet set)."""

    ivoid: str
    element: etree._Element


def _resource(xsi_type: str, ivoid: str, title: str, dc: DataCentre, *, description: str,
              subjects: Iterable[str], short_name: str | None = None,
              version: str | None = None, reference_url: str | None = None,
              content_type: str | None = None, relationships: Iterable[tuple[str, str, str]] = (),
              extra_namespaces: dict[str, str] | None = None) -> etree._Element:
    nsmap = {**NSMAP, **(extra_namespaces or {})}
    root = etree.Element(f"{{{RI_NS}}}Resource", nsmap=nsmap)
    root.set(XSI_TYPE, xsi_type)
    root.set("created", UNDATED)
    root.set("updated", UNDATED)
    root.set("status", "active")
    root.append(E.title(title))
    if short_name:
        root.append(E.shortName(short_name[:16]))
    root.append(E.identifier(ivoid))
    curation = E.curation(E.publisher(dc.publisher,
                                      **{"ivo-id": dc.ivoid(vocabulary.ORGANISATION)}))
    if version:
        curation.append(E.version(version))
    contact = E.contact(E.name(dc.contact.name))
    if dc.contact.email:
        contact.append(E.email(dc.contact.email))
    curation.append(contact)
    root.append(curation)
    content = E.content(*[E.subject(s) for s in (list(subjects) or ["virtual observatory"])],
                        E.description(description or title),
                        E.referenceURL(reference_url or dc.reference_url))
    if content_type:
        content.append(E.type(content_type))
    for relation, name, target in relationships:
        content.append(E.relationship(E.relationshipType(relation),
                                      E.relatedResource(name, **{"ivo-id": target})))
    root.append(content)
    return root


def _capability(standard_id: str | None, url: str, *, description: str | None = None,
                interface_type: str = "vs:ParamHTTP", role: str | None = "std",
                use: str = "base", params: Iterable[etree._Element] = (),
                capability_type: str | None = None) -> etree._Element:
    attributes = {"standardID": standard_id} if standard_id else {}
    capability: etree._Element = E.capability(**attributes)
    if capability_type:
        capability.set(XSI_TYPE, capability_type)
    if description:
        capability.append(E.description(description))
    interface = E.interface(E.accessURL(url, use=use))
    interface.set(XSI_TYPE, interface_type)
    if role:
        interface.set("role", role)
    for param in params:
        interface.append(param)
    capability.append(interface)
    return capability


def authority_record(dc: DataCentre) -> Built:
    ivoid = dc.authority
    root = _resource("vg:Authority", ivoid, f"{dc.name}: naming authority", dc,
                     description=f"The IVOA naming authority {ivoid} of {dc.name}.",
                     subjects=["virtual observatory"])
    root.append(E.managingOrg(dc.publisher, **{"ivo-id": dc.ivoid(vocabulary.ORGANISATION)}))
    return Built(ivoid, root)


def organisation_record(dc: DataCentre) -> Built:
    ivoid = dc.ivoid(vocabulary.ORGANISATION)
    root = _resource("vr:Organisation", ivoid, dc.name, dc, short_name=dc.short_name,
                     description=dc.description, subjects=["virtual observatory"])
    return Built(ivoid, root)


def registry_record(dc: DataCentre, base_url: str) -> Built:
    ivoid = dc.ivoid(vocabulary.REGISTRY)
    root = _resource("vg:Registry", ivoid, f"{dc.name} publishing registry", dc,
                     short_name=f"{dc.short_name or 'innerspace'} reg",
                     description=(f"The publishing registry of {dc.name}: its services, "
                                  "its inner APIs, its execution service and applications."),
                     subjects=["virtual observatory"])
    harvest = _capability(vocabulary.OAI_PMH, f"{base_url}/registry/oai",
                          interface_type="vg:OAIHTTP", capability_type="vg:Harvest")
    harvest.append(E.maxRecords("100"))
    root.append(harvest)
    tap = _capability(vocabulary.TAP, f"{base_url}/registry/tap",
                      description="RegTAP 1.1 search over the records this registry holds")
    root.append(tap)
    root.append(E.full("false"))
    root.append(E.managedAuthority(dc.authority_id))
    return Built(ivoid, root)


def published_service_record(dc: DataCentre, service: PublishedService) -> Built:
    ivoid = dc.ivoid(service.name)
    root = _resource("vr:Service", ivoid, service.title, dc, description=service.description,
                     subjects=service.subjects)
    root.append(_capability(service.standard_id, service.access_url))
    return Built(ivoid, root)


def execution_service_record(dc: DataCentre, base_url: str) -> Built:
    ivoid = dc.ivoid(vocabulary.EXECUTION_SERVICE)
    root = _resource(
        "vr:Service", ivoid, f"{dc.name} innerspace execution service", dc,
        short_name=f"{dc.short_name or 'innerspace'} exec",
        description=("An IVOA UWS 1.1 service that runs pre-packaged, containerised Python "
                     f"applications next to the data of {dc.name}. Each job names an "
                     "application (parameter app) and its parameters."),
        subjects=["virtual observatory", "data analysis"],
        relationships=[("IsServiceFor", f"{dc.name} inner space",
                        dc.ivoid(vocabulary.INNER_SPACE_RECORD))])
    root.append(_capability(vocabulary.UWS, f"{base_url}/jobs",
                            description="UWS 1.1 job list; POST app=NAME[:VERSION] and its "
                                        "parameters to create a job"))
    root.append(_capability(vocabulary.VOSI_CAPABILITIES, f"{base_url}/capabilities",
                            use="full"))
    root.append(_capability(vocabulary.VOSI_AVAILABILITY, f"{base_url}/availability",
                            use="full"))
    return Built(ivoid, root)


def inner_space_record(dc: DataCentre) -> Built:
    """The inner space as a vs:CatalogService. One capability per inner API (its kind's
    standardID, its internal URL, interface role inner:NAME) says how jobs reach it; the
    tableset says what it holds, for the planner to query in rr.res_schema and rr.res_table:
    one schema per inner API (name: the API's name, utype: its kind's standardID) with one
    table per data collection it exposes, named `<API name>.<collection>` (table names are
    qualified by their schema, and unique within a tableset)."""
    ivoid = dc.ivoid(vocabulary.INNER_SPACE_RECORD)
    apis = ", ".join(f"{a.name} ({a.kind})" for a in dc.inner_apis) or "none"
    root = _resource(
        "vs:CatalogService", ivoid, f"{dc.name} inner space", dc,
        description=(f"The APIs {dc.name} offers inside the data centre to innerspace jobs "
                     f"(not reachable from outside): {apis}."),
        subjects=["virtual observatory"],
        relationships=[("IsServedBy", f"{dc.name} innerspace execution service",
                        dc.ivoid(vocabulary.EXECUTION_SERVICE))])
    for api in dc.inner_apis:
        root.append(_capability(api.standard_id, api.location, description=_about(api),
                                role=f"inner:{api.name}", use="base"))
    if not dc.inner_apis:
        root.append(_capability(vocabulary.INNER_SPACE, f"{dc.reference_url}",
                                description="no inner APIs are offered", role=None))
    else:
        root.append(E.tableset(*[_inner_api_schema(api) for api in dc.inner_apis]))
    return Built(ivoid, root)


def _about(api: InnerApi) -> str:
    return f"{api.name}: {api.description or inner_api_kind(api.kind).title}"


def _inner_api_schema(api: InnerApi) -> etree._Element:
    schema: etree._Element = E.schema(E.name(api.name), E.description(_about(api)),
                                      E.utype(api.standard_id))
    for collection in api.collections:
        schema.append(E.table(
            E.name(f"{api.name}.{collection}"),
            E.description(f"The data collection {collection}, through the inner API "
                          f"{api.name} ({api.kind}).")))
    return schema


def app_record(dc: DataCentre, app: AppImage, base_url: str,
               groups: frozenset[str] | None = None) -> Built:
    """An app's record; one limited to `groups` stays public, marked by a <rights> element
    (VOResource 1.1) naming them: who may run it is the data centre's policy, not a secret,
    and a federation planner should know it before trying."""
    manifest = app.manifest
    ivoid = dc.ivoid(vocabulary.app_local_part(manifest.name))
    needs = ", ".join(r.kind + (f" ({r.collection})" if r.collection else "")
                      for r in manifest.inner_apis) or "nothing"
    description = (f"{manifest.description or manifest.title}\n\nAn innerspace application, "
                   f"version {manifest.version}, image {app.image}. Run it as a UWS job at "
                   f"{base_url}/jobs with app={manifest.name}:{manifest.version}. "
                   f"Inner APIs it needs: {needs}.")
    root = _resource(
        "vr:Service", ivoid, manifest.title, dc, short_name=manifest.name,
        version=manifest.version, description=description,
        subjects=manifest.subjects or ["data analysis"],
        reference_url=manifest.homepage or f"{base_url}/apps/{manifest.name}",
        relationships=[("IsServedBy", f"{dc.name} innerspace execution service",
                        dc.ivoid(vocabulary.EXECUTION_SERVICE))])
    params = [_param("app", f"{manifest.name}:{manifest.version}", "char", None,
                     f"the application and version (image {app.image})", required=True)]
    for name, param in manifest.parameters.items():
        detail = param.description or name
        if param.choices:
            detail += f" (one of {', '.join(param.choices)})"
        if param.default is not None:
            detail += f" [default {param.default}]"
        params.append(_param(name, None, _DATATYPES[param.type], param.unit, detail,
                             required=param.required))
    if groups:
        root.append(E.rights(f"Restricted: only members of the groups {', '.join(sorted(groups))}"
                             f" of {dc.name} (and its administrators) may run this "
                             "application."))
    root.append(_capability(vocabulary.APP, f"{base_url}/jobs",
                            description=f"run {manifest.name} {manifest.version} as a UWS job",
                            params=params))
    return Built(ivoid, root)


def _param(name: str, fixed: str | None, datatype: str, unit: str | None, description: str,
           required: bool) -> etree._Element:
    param: etree._Element = E.param(
        E.name(name), E.description(description if not fixed else f"{description}; set to {fixed}"),
        use="required" if required else "optional", std="false")
    if unit:
        param.append(E.unit(unit))
    param.append(E.dataType(datatype))
    return param


def build_records(dc: DataCentre, base_url: str, apps: Iterable[AppImage],
                  groups: Callable[[AppImage], frozenset[str] | None] = lambda _: None
                  ) -> list[Built]:
    """Every record this data centre publishes, highest app versions only; `groups` says
    which groups an app is limited to (None: open to all)."""
    newest: dict[str, AppImage] = {}
    for app in apps:
        current = newest.get(app.name)
        if current is None or version_key(app.version) > version_key(current.version):
            newest[app.name] = app
    records = [authority_record(dc), organisation_record(dc), registry_record(dc, base_url),
               execution_service_record(dc, base_url), inner_space_record(dc)]
    records += [published_service_record(dc, s) for s in dc.services]
    records += [app_record(dc, app, base_url, groups(app)) for app in newest.values()]
    return records
