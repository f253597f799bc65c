"""The service's database: one SQLAlchemy engine over SQLite (the default) or PostgreSQL,
its tables (db/tables.py) and their Alembic migrations (db/migrations), run at start-up.

    database = open_database(settings.sqlalchemy_url)
    jobs = JobStore(database)             # uws/store.py
    records = RecordStore(database)       # registry/store.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from innerspace.db.migrations import upgrade
from innerspace.db.tables import jobs, metadata, registry_records


def open_database(url: str, migrate: bool = True) -> Engine:
    """An engine for `url`, its schema brought up to date unless `migrate` is false."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        upgrade(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL sync is durable across crashes
    # of the service (not of the OS), the usual trade for an embedded job database.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


__all__ = ["jobs", "metadata", "open_database", "registry_records"]
