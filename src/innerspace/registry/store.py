"""The publishing registry's memory: every record it has published, with its `created` and
`updated` dates and whether it was deleted, so that OAI-PMH harvesters see correct dates and
learn about deletions (RI 1.1 asks for persistent deletion records)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from lxml import etree
from sqlalchemy import Engine, insert, select, update

from innerspace.db import registry_records
from innerspace.registry.records import Record
from innerspace.registry.resources import Built


def _stamp(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RecordStore:
    """Keeps the published records in the service's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sync(self, built: list[Built], now: float | None = None) -> bool:
        """Store the records as they are now: new ones are created, changed ones get a new
        `updated` date, vanished ones are marked deleted. True if anything changed."""
        now = now or time.time()
        current = {b.ivoid: etree.tostring(b.element) for b in built}
        changed = False
        with self.engine.begin() as conn:
            known = {row.ivoid: row for row in conn.execute(select(
                registry_records.c.ivoid, registry_records.c.digest,
                registry_records.c.deleted))}
            for ivoid, xml in current.items():
                digest = "sha256:" + hashlib.sha256(xml).hexdigest()
                row = known.get(ivoid)
                if row is None:
                    conn.execute(insert(registry_records).values(
                        ivoid=ivoid, xml=xml, digest=digest, created=now, updated=now,
                        deleted=False))
                    changed = True
                elif row.digest != digest or row.deleted:
                    conn.execute(update(registry_records)
                                 .where(registry_records.c.ivoid == ivoid)
                                 .values(xml=xml, digest=digest, updated=now, deleted=False))
                    changed = True
            for ivoid, row in known.items():
                if ivoid not in current and not row.deleted:
                    conn.execute(update(registry_records)
                                 .where(registry_records.c.ivoid == ivoid)
                                 .values(deleted=True, updated=now))
                    changed = True
        return changed

    def records(self) -> list[Record]:
        """Every record ever published, dates filled in, in identifier order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(registry_records).order_by(registry_records.c.ivoid)).all()
        records = []
        for row in rows:
            element = etree.fromstring(row.xml)
            element.set("created", _stamp(row.created))
            element.set("updated", _stamp(row.updated))
            if row.deleted:
                element.set("status", "deleted")
            records.append(Record(ivoid=row.ivoid, xml=etree.tostring(element),
                                  updated=datetime.fromtimestamp(int(row.updated), UTC),
                                  deleted=bool(row.deleted)))
        return records

    def earliest(self) -> datetime:
        with self.engine.connect() as conn:
            first = conn.execute(select(registry_records.c.created)
                                 .order_by(registry_records.c.created).limit(1)).scalar()
        return datetime.fromtimestamp(int(first or time.time()), UTC)
