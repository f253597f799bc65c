"""Every table of the service's database, in one SQLAlchemy metadata that the Alembic
migrations (db/migrations) compare against. Times are UTC epoch seconds, which sort and
compare the same way in SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# UWS jobs (uws/store.py)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("seq", Integer, nullable=False),  # creation order, unique and monotonic
    Column("owner", String(255), nullable=True, index=True),
    Column("run_id", String(255), nullable=True),
    Column("phase", String(16), nullable=False),
    Column("app", String(255), nullable=False),
    Column("app_version", String(128), nullable=False),
    Column("image", String(255), nullable=False),
    Column("manifest", JSON, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("results", JSON, nullable=False),
    Column("creation_time", Float, nullable=False),
    Column("start_time", Float, nullable=True),
    Column("end_time", Float, nullable=True),
    Column("queued_at", Float, nullable=True),
    Column("execution_duration", Integer, nullable=False),
    Column("destruction", Float, nullable=False),
    Column("error_message", Text, nullable=True),
    Column("error_type", String(16), nullable=True),
    Column("container", String(128), nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("message", Text, nullable=True),
    # Bytes of the job's files (uploads, results, logs), summed per owner for the storage
    # quota; from its start to its end, what they may come to take (its result quota and log
    # size on top), so that jobs running at once cannot pass the quota together.
    Column("stored_bytes", BigInteger, nullable=False, server_default="0"),
    Index("ix_jobs_owner_seq", "owner", "seq"),
    Index("ix_jobs_phase", "phase"),
    Index("ix_jobs_destruction", "destruction"),
)

# The publishing registry's records (registry/store.py)
registry_records = Table(
    "registry_records", metadata,
    Column("ivoid", String(512), primary_key=True),
    Column("xml", LargeBinary, nullable=False),
    Column("digest", String(71), nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("deleted", Boolean, nullable=False),
)
