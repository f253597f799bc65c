"""One harvest of one peer into the RegTAP index, incremental where it can be.

The index file keeps, per endpoint, what the last good harvest learnt (`watermark`: the
peer's clock when it began; the peer's earliest datestamp, granularity and authorities). The
next harvest asks only for what changed since the watermark (OAI-PMH `from=`, inclusive:
a record changed in that very second comes again, which is harmless), and removes the
records the peer reports deleted. It is a full harvest instead -- and whatever of the
peer's records it does not bring is removed -- when there is no watermark, when the peer's
earliest datestamp or granularity changed (its history was reset), when it keeps no
deletions (`deletedRecord` no), or when it now supplies authorities it did not before.

Records reach the index page by page as they arrive (one transaction per page): the
harvest holds one page at a time, and queries go on answering meanwhile. A failed harvest
keeps the pages it brought and the old watermark, so the next one asks again from there.

An authority is supplied by the first configured endpoint that claims it (`claimed`: the
authorities of the endpoints before this one); this one's records of other authorities
are removed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from innerspace import vocabulary
from innerspace.config import Settings
from innerspace.registry.harvest import Harvester, PeerInfo
from innerspace.registry.peer import harvest_client
from innerspace.registry.records import MANAGED_SET, Record
from innerspace.registry.regtap import RegTAPIndex

log = logging.getLogger("innerspace.registry")


def forget_peers(index: RegTAPIndex, endpoints: list[str]) -> dict[str, int]:
    """Remove the records and harvest states of the peers not among `endpoints` (no longer
    configured); how many records of each were removed."""
    removed = {}
    for endpoint in sorted(index.writer.harvested_endpoints() - set(endpoints)):
        removed[endpoint] = index.delete(index.writer.ivoids(endpoint))
        index.writer.set_harvest_state(endpoint, None)
        log.info("%s is no longer harvested: its %d records are removed", endpoint,
                 removed[endpoint])
    return removed


class PeerHarvest:
    """Harvest `endpoint` into `index` (`run`); `claimed` are the authorities of the
    endpoints configured before it."""

    def __init__(self, endpoint: str, index: RegTAPIndex, settings: Settings,
                 claimed: set[str], client: httpx.Client | None = None) -> None:
        self.endpoint = endpoint
        self.index = index
        self.settings = settings
        self.claimed = frozenset(claimed)
        self.client = client
        self.state = index.writer.harvest_state(endpoint)
        self._authorities: frozenset[str] = frozenset(
            (self.state or {}).get("authorities", ()))

    def claims(self) -> frozenset[str]:
        """The authorities this endpoint supplies (as of its last good harvest): the
        endpoints after it may not."""
        return self._authorities

    def allowed(self, authorities: frozenset[str]) -> frozenset[str]:
        return frozenset(a for a in authorities if a not in self.claimed)

    def full_reason(self, info: PeerInfo) -> str | None:
        """Why this harvest must be a full one, or None."""
        state = self.state
        if state is None or not state.get("watermark"):
            return "no harvest was made before"
        if info.earliest != state.get("earliest") or info.granularity != state.get(
                "granularity"):
            return "the peer's earliest datestamp or granularity changed"
        if info.deleted_record == "no":
            return "the peer keeps no record of deletions"
        expected = info.authorities or frozenset(state.get("authorities", ()))
        if self.allowed(expected) - frozenset(state.get("allowed", ())):
            return "the peer now supplies authorities it did not before"
        return None

    def run(self) -> dict[str, int | str]:
        """Harvest; how many records came, were left out and removed, and whether it was a
        full harvest."""
        own = self.client is None
        http = self.client or harvest_client()
        seen: set[str] = set()
        latest: list[datetime] = []  # the latest datestamp brought (a watermark of last resort)
        try:
            harvester = Harvester(self.endpoint, http, limits=self.settings.registry,
                                  own_authority=self.settings.datacentre.authority)
            info = harvester.identify()
            reason = self.full_reason(info)
            since = None if reason else datetime.fromisoformat(
                str((self.state or {})["watermark"]))
            if reason:
                log.info("%s: a full harvest, as %s", self.endpoint, reason)

            def batch(records: list[Record]) -> None:
                allowed = self.allowed(harvester.authorities)
                keep = [r for r in records if vocabulary.authority_of(r.ivoid) in allowed]
                if keep:
                    seen.update(r.ivoid for r in keep)
                    latest[:] = [max([*latest, *(r.updated for r in keep)])]
                    self.index.upsert(keep, self.endpoint)

            summary = harvester.stream(since, MANAGED_SET, batch, info)
        finally:
            if own:
                http.close()
        allowed = self.allowed(summary.authorities)
        stale = self.index.writer.ivoids(self.endpoint, authorities=allowed)
        if since is None:  # a full harvest: what it did not bring is gone
            stale |= self.index.writer.ivoids(self.endpoint) - seen
        removed = self.index.delete(stale) if stale else 0
        watermark = summary.started or (latest[0] if latest else None)
        state: dict[str, Any] = {
            "watermark": watermark.isoformat() if watermark else None,
            "earliest": info.earliest, "granularity": info.granularity,
            "authorities": sorted(summary.authorities), "allowed": sorted(allowed),
            "harvested": datetime.now(UTC).isoformat()}
        self.index.writer.set_harvest_state(self.endpoint, state)
        self.state, self._authorities = state, summary.authorities
        return {"records": summary.records, "skipped": len(summary.skipped),
                "removed": removed, "full": int(since is None)}
