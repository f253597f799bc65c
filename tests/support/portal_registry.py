"""A small federation for the portal's registry, federation and operators pages: two portal
services on the fake engine (tests/support/portal.py), north and south, each holding one
data collection, whose RegTAP indexes both hold both data centres' records (as if each had
harvested the other), built by the same publishing code as a real service's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from innerspace.apps.manifest import AppManifest
from innerspace.db import open_database
from innerspace.registry.publishing import PublishingRegistry, RegistrySync
from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.store import RecordStore
from tests.support.datacentres import datacentre
from tests.support.portal import PortalService, example_manifests, portal_manifests
from tests.support.uws_harness import DemoCatalogue

NORTH = "ivo://north.example"
SOUTH = "ivo://south.example"


def records_of(service: PortalService, manifests: list[AppManifest],
               workdir: Path) -> list[Record]:
    """The records `service` publishes (its data centre, execution service, apps)."""
    database = open_database(f"sqlite:///{workdir / 'records.db'}")
    registry = PublishingRegistry(service.settings, RecordStore(database),
                                  DemoCatalogue(*manifests))
    registry.refresh()
    return registry.records()


class Federation:
    """North (every portal app) and south (the example apps only: no `demo`), started."""

    def __init__(self, workdir: Path, **settings: Any) -> None:
        self.workdir = workdir
        self.north = PortalService(workdir / "north", portal_manifests(),
                                   datacentre=datacentre(NORTH, "North", "north-sky"),
                                   **settings)
        self.south = PortalService(workdir / "south", example_manifests(),
                                   datacentre=datacentre(SOUTH, "South", "south-sky"),
                                   **settings)

    def start(self) -> Federation:
        (self.workdir / "north").mkdir(parents=True, exist_ok=True)
        (self.workdir / "south").mkdir(parents=True, exist_ok=True)
        published = {
            self.north: records_of(self.north, portal_manifests(), self.workdir / "north"),
            self.south: records_of(self.south, example_manifests(), self.workdir / "south")}
        for service, other in ((self.north, self.south), (self.south, self.north)):
            service.start()
            index = RegTAPIndex(service.data_dir / "regtap.sqlite", service.settings.registry)
            index.load(published[service])
            index.upsert(published[other], f"{other.url}/registry/oai")  # as if harvested
            services = service.app.state.services if service.app else None
            assert services is not None
            registry = PublishingRegistry(
                service.settings, RecordStore(open_database(
                    f"sqlite:///{service.data_dir / 'records.db'}")), services.catalogue)
            services.regtap = index
            services.registry = registry
            services.registry_sync = RegistrySync(registry, index, [])
        return self

    def stop(self) -> None:
        for service in (self.north, self.south):
            service.stop()

    def __enter__(self) -> Federation:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
