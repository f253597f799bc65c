"""The publishing registry of this data centre: builds its records from the data-centre
description and the app catalogue, keeps them (with dates and deletions) in the record store,
and keeps the RegTAP index in step with them and with records harvested from other registries.

The index is kept up to date record by record (`RegTAPIndex.upsert`/`delete`): own records
that a refresh changed; harvested records added, changed or deleted, page by page as a
harvest brings them (`peers.PeerHarvest`); the records of a peer no longer configured.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from innerspace import vocabulary
from innerspace.apps.access import app_groups
from innerspace.apps.catalogue import AppCatalogue, CatalogueUnavailable
from innerspace.config import Settings
from innerspace.observability import ServiceMetrics
from innerspace.registry.errors import HarvestError
from innerspace.registry.incremental import PeerHarvest, forget_peers
from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.regtap.index import OWN
from innerspace.registry.resources import build_records
from innerspace.registry.store import RecordStore

log = logging.getLogger(__name__)
T = TypeVar("T")

# When neither execution_url nor public_url is configured (`innerspace serve` always sets
# public_url; an app built by create_app alone, as in tests, may not).
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class PublishingRegistry:
    """What /registry/oai serves and /registry/tap searches."""

    def __init__(self, settings: Settings, store: RecordStore, catalogue: AppCatalogue) -> None:
        self.settings = settings
        self.store = store
        self.catalogue = catalogue
        dc = settings.datacentre
        self.ivoid = dc.ivoid(vocabulary.REGISTRY)
        self.name = f"{dc.name} publishing registry"
        self.admin_email = dc.contact.email or "innerspace@localhost"
        self._lock = threading.Lock()
        self._fingerprint: tuple[object, ...] | None = None
        self._records: list[Record] = []
        # Serve what was published before, until the catalogue can be read again.
        self._records = store.records()

    @property
    def earliest(self) -> datetime:
        return self.store.earliest()

    @property
    def base_url(self) -> str:
        """Where the records say this execution service is. Configuration, never a
        request's URL: the records are built in the background and published to the world.
        `datacentre.execution_url`, else `public_url`, else the default local address."""
        url = self.settings.datacentre.execution_url or self.settings.public_url
        return (url or DEFAULT_BASE_URL).rstrip("/")

    def refresh(self) -> bool:
        """Rebuild the records if the configuration or the catalogue changed."""
        try:
            apps = self.catalogue.apps()
        except CatalogueUnavailable as exc:
            log.warning("registry records keep the last known apps: %s", exc)
            return False
        base = self.base_url
        fingerprint = (base, tuple(sorted((a.name, a.version, a.image) for a in apps)))
        with self._lock:
            if fingerprint == self._fingerprint and self._records:
                return False
            built = build_records(self.settings.datacentre, base, apps,
                                  lambda app: app_groups(self.settings, app.manifest))
            changed = self.store.sync(built)
            self._records = self.store.records()
            self._fingerprint = fingerprint
            return changed

    def records(self) -> list[Record]:
        """This data centre's own records (including deleted ones), for OAI-PMH."""
        return list(self._records)


class RegistrySync:
    """Keeps the records and the RegTAP index in step: on a timer, and on demand."""

    def __init__(self, registry: PublishingRegistry, index: RegTAPIndex,
                 endpoints: list[str], metrics: ServiceMetrics | None = None) -> None:
        self.registry = registry
        self.metrics = metrics or ServiceMetrics()
        self.index = index
        self.endpoints = endpoints
        self._own: dict[str, bytes] | None = None  # own ivoid -> digest, as indexed
        self._lock = threading.RLock()
        # All registry work (XML building and parsing, the index) happens on one long-lived
        # thread: lxml ties documents to the thread that made them.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry")
        self.harvesting = threading.Lock()  # one harvest at a time

    def sync(self) -> None:
        """Rebuild changed records; index the own records that changed; remove the
        records of peers no longer configured. One thread at a time does registry work."""
        with self._lock:
            self.registry.refresh()
            self._index_own()
            forget_peers(self.index, self.endpoints)

    def _index_own(self) -> None:
        records = self.registry.records()
        now = {r.ivoid: hashlib.sha256(r.xml).digest() + bytes([r.deleted]) for r in records}
        if now == self._own:
            return
        known = self._own or {}
        changed = [r for r in records if known.get(r.ivoid) != now[r.ivoid]]
        # Own records indexed but no longer among them (or indexed by an older service).
        gone = self.index.writer.ivoids(OWN) - {r.ivoid for r in records if not r.deleted}
        if changed:
            self.index.upsert(changed, OWN)
        if gone:
            self.index.delete(gone)
        self._own = now

    def harvest(self) -> dict[str, dict[str, int | str]]:
        """Harvest every configured endpoint now (incrementally where the last harvest
        allows); per endpoint, how many records it gave, how many were left out and
        removed, whether it was a full harvest, or why it failed."""
        with self.harvesting:
            return self._harvest()

    def _harvest(self) -> dict[str, dict[str, int | str]]:
        settings = self.registry.settings
        outcome: dict[str, dict[str, int | str]] = {}
        self.sync()
        claimed: set[str] = set()  # authorities of the endpoints before, in configured order
        for endpoint in self.endpoints:
            peer = PeerHarvest(endpoint, self.index, settings, claimed)
            try:
                outcome[endpoint] = peer.run()
            except HarvestError as exc:  # one bad peer must not stop the others
                log.warning("harvesting %s failed: %s", endpoint, exc)
                self.metrics.harvested(endpoint, ok=False)
                outcome[endpoint] = {"failed": exc.message}
            except Exception as exc:
                log.exception("harvesting %s failed unexpectedly", endpoint)
                self.metrics.harvested(endpoint, ok=False)
                outcome[endpoint] = {"failed": f"unexpectedly ({exc.__class__.__name__}); "
                                               "the service's log says more"}
            else:
                self.metrics.harvested(endpoint, ok=True)
                log.info("harvested %s from %s", outcome[endpoint], endpoint)
            claimed |= peer.claims()
        return outcome
    async def call(self, work: Callable[[], T]) -> T:
        """Run `work` on the registry's own thread."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    async def run(self, interval: float = 10.0, harvest_interval: float = 3600.0) -> None:
        """For the life of the service: sync every `interval`, harvest every
        `harvest_interval` (first at start-up)."""
        next_harvest = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if self.endpoints and loop.time() >= next_harvest:
                    await self.call(self.harvest)
                    next_harvest = loop.time() + harvest_interval
                else:
                    await self.call(self.sync)
            except Exception:
                log.exception("could not bring the registry up to date")
            await asyncio.sleep(interval)

