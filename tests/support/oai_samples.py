"""Sample registry content for the OAI-PMH tests: ~260 VOResource 1.1 records of a fictitious
data centre (registry, authority, organisation, cone searches, data collections, app
services, some deleted, some harvested from elsewhere), a record source serving them, and an
offline validator for OAI-PMH responses with every IVOA namespace plus oai_dc."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from innerspace.registry.records import MANAGED_SET, Record

AUTHORITY = "ivo://innerspace.example"
REGISTRY_IVOID = f"{AUTHORITY}/registry"
OTHER_AUTHORITY = "ivo://elsewhere.example"
APPS_SET = "innerspace:apps"
ADMIN_EMAIL = "registry@innerspace.example"
REGISTRY_NAME = "innerspace test registry"
FIRST = datetime(2023, 1, 15, 8, 0, 0, tzinfo=UTC)
EARLIEST = FIRST - timedelta(days=1)
STEP = timedelta(hours=3, minutes=17, seconds=23, microseconds=500_000)
TIE = slice(96, 104)  # records sharing one second, across the first page boundary

NAMESPACES = (
    'xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
    'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" '
    'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
    'xmlns:vg="http://www.ivoa.net/xml/VORegistry/v1.0" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')

SURVEYS = ["Gaia DR3", "2MASS", "SDSS DR17", "Pan-STARRS1", "WISE AllWISE", "GALEX GR6",
           "UKIDSS LAS", "VHS DR5", "SkyMapper DR4", "LAMOST DR8", "TESS CTL", "Hipparcos",
           "Tycho-2", "ROSAT 2RXS", "NVSS", "FIRST", "LoTSS DR2", "XMM 4XMM-DR13"]
KINDS = ["source catalogue", "proper motions", "photometric redshifts", "variability index",
         "cross-match with Ångström-resolution spectra", "light curves", "stellar parameters"]
SUBJECTS = ["astrometry", "photometry", "stars", "galaxies", "quasars", "variable stars",
            "surveys", "radio sources", "x-ray sources", "spectroscopy"]
WAVEBANDS = ["Optical", "Infrared", "UV", "Radio", "X-ray", "Millimeter"]
PEOPLE = ["Ada Lovelace", "Henrietta Swan Leavitt", "Cecilia Payne-Gaposchkin",
          "Subrahmanyan Chandrasekhar", "Vera Rubin", "Jocelyn Bell Burnell", "Fritz Zwicky"]
APPS = ["hello", "fits-stats", "xmatch", "photometry", "cutout", "periodogram", "sed-fit",
        "astrometry-solve", "psf-model", "cosmic-ray-clean"]


def _t(text: str) -> str:
    return escape(text)


def _curation(index: int, publisher: str, updated: datetime, *, org_id: str | None = None
              ) -> str:
    creators = "".join(f"<creator><name>{_t(PEOPLE[(index + k) % len(PEOPLE)])}</name></creator>"
                       for k in range(1 + index % 3))
    ivo_id = f" ivo-id={quoteattr(org_id)}" if org_id else ""
    return (f"<curation><publisher{ivo_id}>{_t(publisher)}</publisher>{creators}"
            f"<contributor>Registry operations team</contributor>"
            f'<date role="created">{(FIRST - timedelta(days=300 - index)).date()}</date>'
            f'<date role="updated">{updated.strftime("%Y-%m-%dT%H:%M:%S")}</date>'
            f"<version>{1 + index % 4}.{index % 10}</version>"
            f"<contact><name>Data centre help desk</name>"
            f"<email>help@innerspace.example</email></contact></curation>")


def _content(index: int, description: str, reference: str, types: list[str],
             related: str | None = None) -> str:
    subjects = "".join(f"<subject>{_t(SUBJECTS[(index + k) % len(SUBJECTS)])}</subject>"
                       for k in range(1 + index % 3))
    source = ('<source format="bibcode">2023A&amp;A...674A...1G</source>'
              if index % 4 == 0 else "")
    kinds = "".join(f"<type>{t}</type>" for t in types)
    relationship = ("<relationship><relationshipType>served-by</relationshipType>"
                    f'<relatedResource ivo-id={quoteattr(related)}>the innerspace UWS service'
                    "</relatedResource></relationship>" if related else "")
    return (f"<content>{subjects}<description>{_t(description)}</description>{source}"
            f"<referenceURL>{_t(reference)}</referenceURL>{kinds}"
            f"<contentLevel>Research</contentLevel>{relationship}</content>")


def _resource(xsi_type: str, ivoid: str, title: str, updated: datetime, status: str,
              body: str, short: str | None = None) -> bytes:
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%S")
    created = (FIRST - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%S")
    short_name = f"<shortName>{_t(short)}</shortName>" if short else ""
    return (f'<ri:Resource {NAMESPACES} xsi:type="{xsi_type}" created="{created}" '
            f'updated="{stamp}" status="{status}"><title>{_t(title)}</title>{short_name}'
            f"<identifier>{_t(ivoid)}</identifier>{body}</ri:Resource>").encode()


def _param_http(url: str, *, role: str = "std") -> str:
    return (f'<interface xsi:type="vs:ParamHTTP" role="{role}">'
            f'<accessURL use="base">{_t(url)}</accessURL>'
            "<queryType>GET</queryType><resultType>application/x-votable+xml</resultType>"
            "</interface>")


def _vosi(base: str) -> str:
    return "".join(
        f'<capability standardID="ivo://ivoa.net/std/VOSI#{name}">{_param_http(f"{base}/{name}")}'
        "</capability>" for name in ("capabilities", "availability"))


def _tableset(index: int, name: str) -> str:
    columns = "".join(
        f"<column><name>{c}</name><description>{d}</description><unit>{u}</unit>"
        f'<ucd>{ucd}</ucd><dataType xsi:type="vs:VOTableType">double</dataType></column>'
        for c, d, u, ucd in [("ra", "Right ascension (ICRS)", "deg", "pos.eq.ra;meta.main"),
                             ("dec", "Declination (ICRS)", "deg", "pos.eq.dec;meta.main"),
                             ("mag", "Apparent magnitude &lt; 25", "mag", "phot.mag")])
    return (f"<tableset><schema><name>cat{index}</name><table><name>cat{index}.{name}</name>"
            f"<title>{_t(name)}</title><nrows>{1000 * (index + 1)}</nrows>{columns}</table>"
            "</schema></tableset>")


def _coverage(index: int) -> str:
    start = 51544.0 + 10 * index
    return (f'<coverage><spatial>{index % 4}/{index % 48}</spatial>'
            f"<temporal>{start} {start + 365.25}</temporal>"
            f"<waveband>{WAVEBANDS[index % len(WAVEBANDS)]}</waveband></coverage>")


def registry_xml(endpoint: str, updated: datetime) -> bytes:
    body = (_curation(0, "innerspace data centre", updated, org_id=f"{AUTHORITY}/org")
            + _content(0, "The publishing registry of the innerspace data centre: every "
                          "resource it runs, harvestable through OAI-PMH.", endpoint,
                       ["Archive"])
            + '<capability xsi:type="vg:Harvest" standardID="ivo://ivoa.net/std/Registry">'
            + '<interface xsi:type="vg:OAIHTTP" role="std" version="1.0">'
            + f'<accessURL use="base">{_t(endpoint)}</accessURL></interface>'
            + "<maxRecords>100</maxRecords></capability>"
            + _vosi(endpoint.rsplit("/", 2)[0])
            + f"<full>false</full><managedAuthority>{AUTHORITY[6:]}</managedAuthority>")
    return _resource("vg:Registry", REGISTRY_IVOID, "innerspace publishing registry", updated,
                     "active", body, short="innerspace reg")


def _authority_xml(updated: datetime) -> bytes:
    body = (_curation(1, "innerspace data centre", updated)
            + _content(1, "The authority under which the innerspace data centre registers "
                          "its resources.", "https://innerspace.example/", ["Other"])
            + "<managingOrg>innerspace data centre</managingOrg>")
    return _resource("vg:Authority", AUTHORITY, "innerspace naming authority", updated,
                     "active", body)


def _organisation_xml(updated: datetime) -> bytes:
    body = (_curation(2, "innerspace data centre", updated)
            + _content(2, "A data centre that runs containerised analysis next to its data.",
                       "https://innerspace.example/about", ["Organisation"])
            + "<facility>innerspace compute cluster</facility>")
    return _resource("vr:Organisation", f"{AUTHORITY}/org", "innerspace data centre", updated,
                     "active", body, short="innerspace")


def _cone_xml(index: int, ivoid: str, title: str, updated: datetime, status: str,
              base: str) -> bytes:
    url = f"https://{base}/scs/{index}"
    body = (_curation(index, "innerspace data centre", updated, org_id=f"{AUTHORITY}/org")
            + _content(index, f"{title}: a cone search over the catalogue, with positions, "
                              "magnitudes & flags <quality cuts applied>.",
                       f"https://{base}/cat/{index}", ["Catalog", "Survey"])
            + "<rights>CC-BY 4.0</rights>"
            + '<capability standardID="ivo://ivoa.net/std/ConeSearch">'
            + _param_http(url) + "</capability>" + _vosi(f"https://{base}")
            + f"<facility>{_t(SURVEYS[index % len(SURVEYS)].split()[0])} telescope</facility>"
            + _coverage(index) + _tableset(index, "main"))
    return _resource("vs:CatalogService", ivoid, title, updated, status, body)


def _collection_xml(index: int, ivoid: str, title: str, updated: datetime,
                    status: str) -> bytes:
    body = (_curation(index, "innerspace data centre", updated)
            + _content(index, f"{title}, as FITS files with their calibration.",
                       f"https://innerspace.example/data/{index}", ["Survey"])
            + "<rights>CC0</rights>"
            + '<format isMIMEType="true">application/fits</format>'
            + _coverage(index) + _tableset(index, "files")
            + f'<accessURL use="base">https://innerspace.example/data/{index}/files</accessURL>')
    return _resource("vs:DataCollection", ivoid, title, updated, status, body)


def _app_xml(index: int, app: str, ivoid: str, updated: datetime, status: str) -> bytes:
    body = (_curation(index, "innerspace data centre", updated)
            + _content(index, f"Runs the containerised Python app {app!r} next to the data "
                              "through UWS 1.1.", f"https://innerspace.example/apps/{app}",
                       ["Other"])
            + '<capability standardID="ivo://ivoa.net/std/UWS#rest-1.1">'
            + _param_http("https://innerspace.example/jobs") + "</capability>"
            + _vosi("https://innerspace.example"))
    return _resource("vr:Service", ivoid, f"innerspace app: {app}", updated, status, body)


def sample_records(endpoint: str) -> list[Record]:
    """The registry's records in creation order (updated grows with the position, except
    that the TIE positions share one second)."""
    stamps = [FIRST + i * STEP for i in range(262)]
    tie = stamps[TIE.start].replace(microsecond=0)
    for i in range(TIE.start, TIE.stop):
        stamps[i] = tie + timedelta(microseconds=(i * 7919) % 1_000_000)
    records = [
        Record(REGISTRY_IVOID, registry_xml(endpoint, stamps[0]), stamps[0]),
        Record(AUTHORITY, _authority_xml(stamps[1]), stamps[1]),
        Record(f"{AUTHORITY}/org", _organisation_xml(stamps[2]), stamps[2]),
    ]
    i = len(records)
    while i < len(stamps):
        kind = i % 13
        survey = SURVEYS[i % len(SURVEYS)]
        deleted = i % 11 == 5
        status = "deleted" if deleted and i % 2 else "active"
        if kind == 12:  # a record harvested from another registry: not ivo_managed
            ivoid = f"{OTHER_AUTHORITY}/{survey.lower().replace(' ', '-')}/scs{i}"
            xml = _cone_xml(i, ivoid, f"{survey} mirror at elsewhere", stamps[i], "active",
                            "elsewhere.example")
            records.append(Record(ivoid, xml, stamps[i], sets=()))
        elif kind in (3, 9):
            app = APPS[i % len(APPS)]
            ivoid = f"{AUTHORITY}/apps/{app}-{i}"
            records.append(Record(ivoid, _app_xml(i, app, ivoid, stamps[i], status), stamps[i],
                                  deleted, (MANAGED_SET, APPS_SET)))
        elif kind in (4, 7, 10):
            ivoid = f"{AUTHORITY}/data/{survey.lower().replace(' ', '-')}-{i}"
            title = f"{survey} images, field {i}"
            records.append(Record(ivoid, _collection_xml(i, ivoid, title, stamps[i], status),
                                  stamps[i], deleted))
        else:
            ivoid = f"{AUTHORITY}/scs/{survey.lower().replace(' ', '-')}-{i}"
            title = f"{survey} {KINDS[i % len(KINDS)]} #{i}"
            records.append(Record(ivoid, _cone_xml(i, ivoid, title, stamps[i], status,
                                                   "innerspace.example"),
                                  stamps[i], deleted))
        i += 1
    return records


@dataclass
class SampleRegistry:
    """The record source the OAI router reads from `app.state.services.registry`."""

    content: list[Record]
    ivoid: str = REGISTRY_IVOID
    admin_email: str = ADMIN_EMAIL
    name: str = REGISTRY_NAME
    earliest: datetime = EARLIEST
    failing: bool = False
    calls: list[int] = field(default_factory=list)

    def records(self) -> list[Record]:
        self.calls.append(1)
        if self.failing:
            raise RuntimeError("the record store is down")
        return list(self.content)


# -- offline validation ------------------------------------------------------------------------

IVOA_NAMESPACES = [
    "http://www.openarchives.org/OAI/2.0/",
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "http://www.ivoa.net/xml/RegistryInterface/v1.0",
    "http://www.ivoa.net/xml/VOResource/v1.0",
    "http://www.ivoa.net/xml/VODataService/v1.1",
    "http://www.ivoa.net/xml/VORegistry/v1.0",
]


class OAISchemas:
    """OAI-PMH.xsd, the official oai_dc.xsd (with the simple Dublin Core schema it imports),
    RegistryInterface, VOResource, VODataService and VORegistry (the schemas of Debian's
    python3-gavo, through their catalog), compiled as one set, so that the strict wildcards
    of oai:metadata and oai:description are checked too."""

    def __init__(self, schemas: Path) -> None:
        os.environ["XML_CATALOG_FILES"] = str(schemas / "catalog.xml")
        from lxml import etree

        self._etree = etree
        self.parser = etree.XMLParser(no_network=True)
        imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{ns}"/>'
                          for ns in IVOA_NAMESPACES)
        driver = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
        self.schema = etree.XMLSchema(etree.XML(driver.encode(), self.parser))

    def validate(self, document: bytes) -> Any:
        """Parse and validate; raise AssertionError with the schema's complaint."""
        root = self._etree.fromstring(document, self.parser)
        if not self.schema.validate(root):
            raise AssertionError(f"invalid XML: {self.schema.error_log}\n{document[:3000]!r}")
        return root
