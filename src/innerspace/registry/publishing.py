"""The publishing registry of this data centre: builds its records from the data-centre
description and the app catalogue, keeps them (with dates and deletions) in the record store,
and keeps the RegTAP index in step with them and with records harvested from other registries.
"""

from __future__ import annotations

import asyncio
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
from innerspace.registry.harvest import Harvest, harvest
from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPIndex
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
        self.harvested: dict[str, Harvest] = {}  # OAI endpoint -> its last good harvest
        self.version = 0  # bumps whenever the records change (the RegTAP index follows)
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
            if changed or self.version == 0:
                self.version += 1
            return changed

    def records(self) -> list[Record]:
        """This data centre's own records (including deleted ones), for OAI-PMH."""
        return list(self._records)

    def searchable(self) -> list[Record]:
        """Own records plus harvested ones, for the RegTAP index (deleted ones left out).
        A harvested record counts only under an authority other than ours, and only from
        the first harvested registry (in the order of the `harvest` setting) that claims to
        manage its authority: one authority has one registry, and a peer claiming another
        one's must not replace its records."""
        with self._lock:
            own_records = list(self._records)
            harvests = dict(self.harvested)
        configured = self.settings.harvest
        order = sorted(harvests, key=lambda e: configured.index(e) if e in configured
                       else len(configured))
        claimed: dict[str, str] = {}  # authority -> the endpoint that supplies it
        for endpoint in order:
            for authority in sorted(harvests[endpoint].authorities):
                if claimed.setdefault(authority, endpoint) != endpoint:
                    log.warning("%s claims to manage %s, which %s manages: its records of "
                                "it are left out", endpoint, authority, claimed[authority])
        own = {r.ivoid for r in own_records}
        authority = self.settings.datacentre.authority
        others = [r for endpoint in order for r in harvests[endpoint].records
                  if r.ivoid not in own and not vocabulary.under_authority(r.ivoid, authority)
                  and claimed.get(vocabulary.authority_of(r.ivoid)) == endpoint]
        return [r for r in own_records + others if not r.deleted]

    def add_harvest(self, harvested: Harvest) -> None:
        with self._lock:
            self.harvested[harvested.endpoint] = harvested
            self.version += 1


class RegistrySync:
    """Keeps the records and the RegTAP index in step: on a timer, and on demand."""

    def __init__(self, registry: PublishingRegistry, index: RegTAPIndex,
                 endpoints: list[str], metrics: ServiceMetrics | None = None) -> None:
        self.registry = registry
        self.metrics = metrics or ServiceMetrics()
        self.index = index
        self.endpoints = endpoints
        self._indexed = -1
        self._lock = threading.RLock()
        # All registry work (XML building and parsing, the index) happens on one long-lived
        # thread: lxml ties documents to the thread that made them.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry")
        self.harvesting = threading.Lock()  # one harvest at a time

    def sync(self) -> None:
        """Rebuild changed records, then reload the index if anything changed. One thread
        at a time does registry work (records, XML, index)."""
        with self._lock:
            self.registry.refresh()
            version = self.registry.version
            if version != self._indexed:
                self.index.load(self.registry.searchable())
                self._indexed = version

    def harvest(self) -> dict[str, dict[str, int | str]]:
        """Harvest every configured endpoint now; per endpoint, how many records it gave
        and how many were left out, or why it failed."""
        with self.harvesting:
            return self._harvest()

    def _harvest(self) -> dict[str, dict[str, int | str]]:
        settings = self.registry.settings
        outcome: dict[str, dict[str, int | str]] = {}
        for endpoint in self.endpoints:
            try:
                harvested = harvest(endpoint, limits=settings.registry,
                                    own_authority=settings.datacentre.authority)
            except HarvestError as exc:  # one bad peer must not stop the others
                log.warning("harvesting %s failed: %s", endpoint, exc)
                self.metrics.harvested(endpoint, ok=False)
                outcome[endpoint] = {"failed": exc.message}
                continue
            except Exception as exc:
                log.exception("harvesting %s failed unexpectedly", endpoint)
                self.metrics.harvested(endpoint, ok=False)
                outcome[endpoint] = {"failed": f"unexpectedly ({exc.__class__.__name__}); "
                                               "the service's log says more"}
                continue
            self.registry.add_harvest(harvested)
            self.metrics.harvested(endpoint, ok=True)
            outcome[endpoint] = {"records": len(harvested.records),
                                 "skipped": len(harvested.skipped)}
            log.info("harvested %d records from %s (%d left out)", len(harvested.records),
                     endpoint, len(harvested.skipped))
        self.sync()
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

