"""The publishing registry of this data centre: builds its records from the data-centre
description and the app catalogue, keeps them (with dates and deletions) in the record store,
and keeps the RegTAP index in step with them and with records harvested from other registries.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from innerspace.apps.catalogue import AppCatalogue, CatalogueUnavailable
from innerspace.config import Settings
from innerspace.registry.records import Record
from innerspace.registry.resources import build_records
from innerspace.registry.store import RecordStore

log = logging.getLogger(__name__)


class PublishingRegistry:
    """What /registry/oai serves and /registry/tap searches."""

    def __init__(self, settings: Settings, store: RecordStore, catalogue: AppCatalogue) -> None:
        self.settings = settings
        self.store = store
        self.catalogue = catalogue
        dc = settings.datacentre
        self.ivoid = dc.ivoid("registry")
        self.name = f"{dc.name} publishing registry"
        self.admin_email = dc.contact.email or "innerspace@localhost"
        self._lock = threading.Lock()
        self._fingerprint: tuple[object, ...] | None = None
        self._records: list[Record] = []
        self.harvested: dict[str, list[Record]] = {}  # OAI endpoint -> its records
        self.version = 0  # bumps whenever the records change (the RegTAP index follows)

    @property
    def earliest(self) -> datetime:
        return self.store.earliest()

    def base_url(self, request_base: str | None = None) -> str:
        dc = self.settings.datacentre
        url = dc.execution_url or self.settings.public_url or request_base
        return (url or "http://127.0.0.1:8000").rstrip("/")

    def refresh(self, request_base: str | None = None) -> bool:
        """Rebuild the records if the configuration or the catalogue changed."""
        try:
            apps = self.catalogue.apps()
        except CatalogueUnavailable as exc:
            log.warning("registry records keep the last known apps: %s", exc)
            return False
        base = self.base_url(request_base)
        fingerprint = (base, tuple(sorted((a.name, a.version, a.image) for a in apps)))
        with self._lock:
            if fingerprint == self._fingerprint and self._records:
                return False
            built = build_records(self.settings.datacentre, base, apps)
            changed = self.store.sync(built)
            self._records = self.store.records()
            self._fingerprint = fingerprint
            if changed or self.version == 0:
                self.version += 1
            return changed

    def records(self) -> list[Record]:
        """This data centre's own records (including deleted ones), for OAI-PMH."""
        return list(self._records)

    def searchable(self) -> list[Record]:
        """Own records plus harvested ones, for the RegTAP index (deleted ones left out)."""
        own = {r.ivoid for r in self._records}
        others = [r for records in self.harvested.values() for r in records
                  if r.ivoid not in own]
        return [r for r in self._records + others if not r.deleted]

    def add_harvest(self, endpoint: str, records: list[Record]) -> None:
        with self._lock:
            self.harvested[endpoint] = records
            self.version += 1
