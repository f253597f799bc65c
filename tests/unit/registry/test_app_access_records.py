"""An app limited to groups stays in the public registry, its record marked by a schema-valid
<rights> element naming the groups (the service's apps.groups setting wins over the
manifest's); open apps carry no such mark."""

from __future__ import annotations

from typing import Any

from lxml import etree

from innerspace.apps.access import app_groups
from innerspace.apps.catalogue import AppImage
from innerspace.config import load_settings
from innerspace.registry.resources import build_records
from tests.support.datacentres import WFAU
from tests.support.datacentres import WFAU_BASE as BASE
from tests.support.uws_harness import IMAGE, demo_manifest

VR = "{http://www.ivoa.net/xml/VOResource/v1.0}"


def test_a_limited_app_is_registered_and_marked(xml_schemas: Any) -> None:
    settings = load_settings(datacentre=WFAU, apps={"groups": {"survey": ["euclid"]}})
    apps = [AppImage(demo_manifest(), IMAGE),
            AppImage(demo_manifest(name="secret", access={"groups": ["astro", "admins"]}),
                     IMAGE),
            AppImage(demo_manifest(name="survey", access={"groups": ["astro"]}), IMAGE)]
    built = {b.ivoid.rsplit("/", 1)[-1]: b.element for b in build_records(
        settings.datacentre, BASE, apps, lambda app: app_groups(settings, app.manifest))}
    rights = {name: [r.text for r in element.iter("rights", f"{VR}rights")]
              for name, element in built.items() if name in ("demo", "secret", "survey")}
    dc = settings.datacentre.name
    assert rights == {
        "demo": [],
        "secret": [f"Restricted: only members of the groups admins, astro of {dc} (and its "
                   "administrators) may run this application."],
        "survey": [f"Restricted: only members of the groups euclid of {dc} (and its "
                   "administrators) may run this application."]}
    for name in ("secret", "survey"):
        xml_schemas.validate_registry(etree.tostring(built[name]))
