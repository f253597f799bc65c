"""The PostgreSQL server the tests may use: `make test` sets one up (scripts/setup-postgres.sh
writes its URL to .run/postgres-url), or INNERSPACE_TEST_DATABASE_URL names one."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from sqlalchemy import create_engine, text

from tests.support.paths import RUN


def postgres_url() -> str | None:
    url = os.environ.get("INNERSPACE_TEST_DATABASE_URL")
    marker = RUN / "postgres-url"
    if not url and marker.is_file():
        url = marker.read_text().strip()
    return url or None


def reset_postgres(url: str) -> None:
    """Drop every table innerspace makes, so that the next open starts from nothing."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS jobs, registry_records, alembic_version"))
    engine.dispose()


@contextlib.contextmanager
def exclusive_use() -> Iterator[None]:
    """Hold the test database alone: tests in other pytest-xdist workers, and other pytest
    sessions on this machine, that want it wait (an flock on .run/postgres.lock)."""
    RUN.mkdir(exist_ok=True)
    with (RUN / "postgres.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield  # closing the file releases the lock
