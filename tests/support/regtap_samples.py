"""Sample VOResource 1.1 records for the RegTAP tests: a TAP catalogue service with tables,
an SIA2 image service, a UWS execution service, an application served by it, an
organisation, a naming authority, a publishing/searchable registry, plus records that must
not be ingested (deleted, inactive). Every active record is valid against the IVOA schemas.
"""

from __future__ import annotations

from datetime import UTC, datetime

from innerspace.registry.records import Record

NS = ('xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
      'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" '
      'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
      'xmlns:vg="http://www.ivoa.net/xml/VORegistry/v1.0" '
      'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
UPDATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BASE = "https://vo.example.org"

TAP_IVOID = "ivo://example.org/survey/tap"
SIA_IVOID = "ivo://example.org/survey/sia2"
UWS_IVOID = "ivo://example.org/innerspace/uws"
APP_IVOID = "ivo://example.org/innerspace/apps/xmatch"
ORG_IVOID = "ivo://example.org/org"
AUTHORITY_IVOID = "ivo://example.org"
REGISTRY_IVOID = "ivo://example.org/registry"
DELETED_IVOID = "ivo://example.org/old/cone"
INACTIVE_IVOID = "ivo://example.org/dormant/tap"

CURATION = """
  <curation>
    <publisher ivo-id="ivo://example.org/org">Example Observatory Data Centre</publisher>
    <creator><name>Lovelace, A.</name><logo>https://vo.example.org/logo.png</logo>
      <altIdentifier>https://orcid.org/0000-0002-1825-0097</altIdentifier></creator>
    <creator><name ivo-id="ivo://example.org/org">Example Survey Team</name></creator>
    <contributor>Babbage, C.</contributor>
    <date role="Created">2019-04-01</date>
    <date role="update">2026-02-28T10:15:00Z</date>
    <version>3.1</version>
    <contact><name>Example helpdesk</name><address>1 Observatory Road, Edinburgh</address>
      <email>help@example.org</email><telephone>+44 131 000 0000</telephone></contact>
  </curation>"""

TAP = f"""<ri:Resource {NS} xsi:type="vs:CatalogService" created="2019-04-01T00:00:00Z"
    updated="2026-03-01T12:00:00Z" status="active" version="1.1">
  <validationLevel validatedBy="ivo://Example.org/Registry">2</validationLevel>
  <title>Example Deep Sky Survey TAP service</title>
  <shortName>EDSS TAP</shortName>
  <identifier>ivo://Example.org/survey/TAP</identifier>
  <altIdentifier>doi:10.5072/edss-dr3</altIdentifier>
  {CURATION}
  <content>
    <subject>surveys</subject>
    <subject>Stellar astronomy</subject>
    <subject>gamma-ray bursts</subject>
    <description>Table access to the third data release of the Example Deep Sky Survey:
      positions, proper motions and magnitudes of 1.2 billion stars and galaxies, with
      quasar candidates flagged.</description>
    <source format="bibcode">2026EDSS....3....1L</source>
    <referenceURL>https://vo.example.org/survey/info</referenceURL>
    <type>Catalog</type>
    <type>Survey</type>
    <contentLevel>Research</contentLevel>
    <contentLevel>University</contentLevel>
    <relationship>
      <relationshipType>served-by</relationshipType>
      <relatedResource ivo-id="ivo://example.org/survey/SIA2">EDSS image service</relatedResource>
    </relationship>
  </content>
  <rights rightsURI="https://spdx.org/licenses/CC-BY-4.0.html">CC BY 4.0</rights>
  <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
    <description>ADQL queries over the survey tables</description>
    <interface xsi:type="vs:ParamHTTP" role="std" version="1.1">
      <accessURL use="base">{BASE}/survey/tap</accessURL>
      <mirrorURL>https://mirror.example.net/survey/tap</mirrorURL>
    </interface>
    <dataModel ivo-id="ivo://ivoa.net/std/ObsCore#core-1.1">ObsCore-1.1</dataModel>
    <language>
      <name>ADQL</name>
      <version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>
      <languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo">
        <feature><form>CONTAINS</form></feature>
      </languageFeatures>
    </language>
    <outputFormat ivo-id="ivo://ivoa.net/std/TAPRegExt#output-votable-binary">
      <mime>application/x-votable+xml</mime><alias>votable</alias></outputFormat>
    <executionDuration><hard>3600</hard></executionDuration>
    <outputLimit><default unit="row">20000</default><hard unit="row">10000000</hard>
    </outputLimit>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#tables-1.1">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="full">{BASE}/survey/tap/tables</accessURL>
    </interface>
  </capability>
  <capability>
    <description>Browse the survey in a web form</description>
    <interface xsi:type="vr:WebBrowser">
      <accessURL use="full">{BASE}/survey/form</accessURL>
    </interface>
  </capability>
  <facility ivo-id="ivo://example.org/telescope">Example 4m Telescope</facility>
  <instrument>WideCam</instrument>
  <coverage>
    <footprint ivo-id="ivo://ivoa.net/std/moc">{BASE}/survey/moc.fits</footprint>
    <waveband>Optical</waveband>
    <waveband>Infrared</waveband>
    <regionOfRegard>0.0003</regionOfRegard>
  </coverage>
  <tableset>
    <schema>
      <name>EDSS</name>
      <title>Example Deep Sky Survey DR3</title>
      <description>The survey's source catalogue and its epochs.</description>
      <table type="base_table">
        <name>edss.Source</name>
        <title>Sources</title>
        <description>One row per detected source, with quasar candidates flagged.</description>
        <utype>ivo://example.org/dm#Source</utype>
        <column>
          <name>source_id</name><description>Unique source identifier</description>
          <ucd>meta.id;meta.main</ucd>
          <dataType xsi:type="vs:VOTableType">long</dataType>
          <flag>primary</flag><flag>indexed</flag>
        </column>
        <column std="true">
          <name>RA</name><description>Right ascension (ICRS)</description><unit>deg</unit>
          <ucd>pos.eq.ra;meta.main</ucd>
          <dataType xsi:type="vs:VOTableType">double</dataType>
        </column>
        <column>
          <name>phot_g_mag</name><description>Mean G magnitude</description><unit>mag</unit>
          <ucd>phot.mag;em.opt.G</ucd>
          <dataType xsi:type="vs:VOTableType">float</dataType><flag>nullable</flag>
        </column>
      </table>
      <table>
        <name>edss.Epoch</name>
        <description>Observation epochs of the sources.</description>
        <column><name>obs_time</name><description>Mid-exposure time</description>
          <unit>d</unit><ucd>time.epoch</ucd>
          <dataType xsi:type="vs:TAPType">TIMESTAMP</dataType></column>
      </table>
    </schema>
  </tableset>
</ri:Resource>"""

SIA = f"""<ri:Resource {NS} xsi:type="vs:CatalogService" created="2020-06-01T00:00:00Z"
    updated="2026-01-15T08:00:00Z" status="active">
  <title>Example Deep Sky Survey image cutouts (SIA2)</title>
  <shortName>EDSS SIA2</shortName>
  <identifier>ivo://example.org/survey/sia2</identifier>
  <curation>
    <publisher ivo-id="ivo://example.org/org">Example Observatory Data Centre</publisher>
    <contact><name>Example helpdesk</name><email>help@example.org</email></contact>
  </curation>
  <content>
    <subject>images</subject>
    <subject>infrared astronomy</subject>
    <description>Simple Image Access 2 service for the calibrated infrared images of the
      survey; cutouts around any position.</description>
    <referenceURL>https://vo.example.org/survey/images</referenceURL>
    <type>Survey</type>
    <contentLevel>Research</contentLevel>
  </content>
  <capability standardID="ivo://ivoa.net/std/SIA#query-2.0">
    <description>SIA2 query endpoint</description>
    <interface xsi:type="vs:ParamHTTP" role="std" version="2.0">
      <accessURL use="base">{BASE}/survey/sia2/query</accessURL>
      <securityMethod standardID="ivo://ivoa.net/sso#BasicAA"/>
      <testQueryString>POS=CIRCLE 10 10 0.1</testQueryString>
      <queryType>GET</queryType>
      <queryType>POST</queryType>
      <resultType>application/x-votable+xml</resultType>
      <param std="true" use="required">
        <name>POS</name><description>Region to search</description><ucd>pos.outline</ucd>
        <dataType>char</dataType>
      </param>
      <param std="false" use="optional">
        <name>BAND</name><description>Wavelength interval</description><unit>m</unit>
        <ucd>em.wl</ucd><dataType arraysize="2">double</dataType>
      </param>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/SIA#query-aux-2.0">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="base">{BASE}/survey/sia2/aux</accessURL>
    </interface>
  </capability>
  <coverage><waveband>Infrared</waveband></coverage>
</ri:Resource>"""

UWS = f"""<ri:Resource {NS} xsi:type="vr:Service" created="2025-11-01T00:00:00Z"
    updated="2026-02-20T09:30:00Z" status="active">
  <title>Example innerspace execution service</title>
  <shortName>EX exec</shortName>
  <identifier>ivo://example.org/innerspace/uws</identifier>
  <curation>
    <publisher ivo-id="ivo://example.org/org">Example Observatory Data Centre</publisher>
    <contact><name>Example helpdesk</name><email>help@example.org</email></contact>
  </curation>
  <content>
    <subject>virtual observatory</subject>
    <subject>data analysis</subject>
    <description>An IVOA UWS 1.1 service that runs pre-packaged, containerised Python
      applications next to the survey data. Each job names an application.</description>
    <referenceURL>https://vo.example.org/innerspace</referenceURL>
    <relationship>
      <relationshipType>IsServiceFor</relationshipType>
      <relatedResource ivo-id="ivo://example.org/innerspace/inner-space">inner space
      </relatedResource>
    </relationship>
  </content>
  <capability standardID="ivo://ivoa.net/std/UWS#rest-1.1">
    <description>UWS 1.1 job list; POST app=NAME[:VERSION] to create a job</description>
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="base">{BASE}/innerspace/jobs</accessURL>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#capabilities">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="full">{BASE}/innerspace/capabilities</accessURL>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#availability">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="full">{BASE}/innerspace/availability</accessURL>
    </interface>
  </capability>
</ri:Resource>"""

APP = f"""<ri:Resource {NS} xsi:type="vr:Service" created="2026-01-10T00:00:00Z"
    updated="2026-01-10T00:00:00Z" status="active">
  <title>xmatch: positional cross-match against the survey</title>
  <shortName>xmatch</shortName>
  <identifier>ivo://example.org/innerspace/apps/xmatch</identifier>
  <curation>
    <publisher ivo-id="ivo://example.org/org">Example Observatory Data Centre</publisher>
    <version>1.2.0</version>
    <contact><name>Example helpdesk</name></contact>
  </curation>
  <content>
    <subject>cross-identification</subject>
    <description>An innerspace application: cross-matches an uploaded table with the
      survey's source catalogue within a given radius. Runs as a UWS job.</description>
    <referenceURL>https://vo.example.org/innerspace/apps/xmatch</referenceURL>
    <relationship>
      <relationshipType>IsServedBy</relationshipType>
      <relatedResource ivo-id="ivo://example.org/innerspace/uws">Example innerspace
        execution service</relatedResource>
    </relationship>
  </content>
  <capability standardID="ivo://innerspace.org/std/app#uws-1.0">
    <description>run xmatch 1.2.0 as a UWS job</description>
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="base">{BASE}/innerspace/jobs</accessURL>
      <param use="required" std="false">
        <name>app</name><description>the application; set to xmatch:1.2.0</description>
        <dataType>char</dataType>
      </param>
      <param use="optional" std="false">
        <name>radius</name><description>match radius</description><unit>arcsec</unit>
        <dataType>double</dataType>
      </param>
    </interface>
  </capability>
</ri:Resource>"""

ORG = f"""<ri:Resource {NS} xsi:type="vr:Organisation" created="2019-01-01T00:00:00Z"
    updated="2025-06-30T00:00:00Z" status="active">
  <title>Example Observatory Data Centre</title>
  <shortName>EXODC</shortName>
  <identifier>ivo://example.org/org</identifier>
  <curation>
    <publisher>Example Observatory Data Centre</publisher>
    <contact><name>Example helpdesk</name><email>help@example.org</email></contact>
  </curation>
  <content>
    <subject>virtual observatory</subject>
    <description>The data centre of the Example Observatory, publishing its surveys to the
      Virtual Observatory.</description>
    <referenceURL>https://vo.example.org/</referenceURL>
  </content>
  <facility>Example 4m Telescope</facility>
  <instrument ivo-id="ivo://example.org/widecam">WideCam</instrument>
</ri:Resource>"""

AUTHORITY = f"""<ri:Resource {NS} xsi:type="vg:Authority" created="2019-01-01T00:00:00Z"
    updated="2019-01-01T00:00:00Z" status="active">
  <title>Example Observatory naming authority</title>
  <identifier>ivo://example.org</identifier>
  <curation>
    <publisher ivo-id="ivo://example.org/org">Example Observatory Data Centre</publisher>
    <contact><name>Example helpdesk</name></contact>
  </curation>
  <content>
    <subject>virtual observatory</subject>
    <description>The IVOA naming authority example.org.</description>
    <referenceURL>https://vo.example.org/</referenceURL>
  </content>
  <managingOrg ivo-id="ivo://example.org/org">Example Observatory Data Centre</managingOrg>
</ri:Resource>"""

REGISTRY = f"""<ri:Resource {NS} xsi:type="vg:Registry" created="2025-11-01T00:00:00Z"
    updated="2026-02-01T00:00:00Z" status="active">
  <title>Example Observatory publishing registry</title>
  <shortName>EX reg</shortName>
  <identifier>ivo://example.org/registry</identifier>
  <curation>
    <publisher ivo-id="ivo://example.org/org">Example Observatory Data Centre</publisher>
    <contact><name>Example helpdesk</name></contact>
  </curation>
  <content>
    <subject>virtual observatory</subject>
    <description>The publishing registry of the Example Observatory, with a RegTAP search
      interface over the records it holds.</description>
    <referenceURL>https://vo.example.org/registry</referenceURL>
  </content>
  <capability standardID="ivo://ivoa.net/std/Registry" xsi:type="vg:Harvest">
    <interface xsi:type="vg:OAIHTTP" role="std">
      <accessURL use="base">{BASE}/registry/oai</accessURL>
    </interface>
    <maxRecords>100</maxRecords>
  </capability>
  <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="base">{BASE}/registry/tap</accessURL>
    </interface>
    <dataModel ivo-id="ivo://ivoa.net/std/RegTAP#1.1">Registry 1.1</dataModel>
    <language><name>ADQL</name><version>2.0</version></language>
    <outputFormat><mime>application/x-votable+xml</mime></outputFormat>
  </capability>
  <full>false</full>
  <managedAuthority>example.org</managedAuthority>
</ri:Resource>"""

INACTIVE = TAP.replace("ivo://Example.org/survey/TAP", INACTIVE_IVOID).replace(
    'status="active"', 'status="inactive"').replace("Example Deep Sky Survey TAP service",
                                                     "Dormant survey TAP service")
DELETED = UWS.replace("ivo://example.org/innerspace/uws", DELETED_IVOID).replace(
    'status="active"', 'status="deleted"')

ACTIVE = {TAP_IVOID: TAP, SIA_IVOID: SIA, UWS_IVOID: UWS, APP_IVOID: APP, ORG_IVOID: ORG,
          AUTHORITY_IVOID: AUTHORITY, REGISTRY_IVOID: REGISTRY}


def sample_records() -> list[Record]:
    """The active records, then the ones the index must leave out."""
    records = [Record(ivoid, xml.encode(), UPDATED) for ivoid, xml in ACTIVE.items()]
    records.append(Record(INACTIVE_IVOID, INACTIVE.encode(), UPDATED))
    records.append(Record(DELETED_IVOID, DELETED.encode(), UPDATED, deleted=True))
    return records
