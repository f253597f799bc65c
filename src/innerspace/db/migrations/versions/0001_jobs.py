"""The jobs table.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("run_id", sa.String(255), nullable=True),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("app", sa.String(255), nullable=False),
        sa.Column("app_version", sa.String(128), nullable=False),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("manifest", sa.JSON, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
        sa.Column("creation_time", sa.Float, nullable=False),
        sa.Column("start_time", sa.Float, nullable=True),
        sa.Column("end_time", sa.Float, nullable=True),
        sa.Column("queued_at", sa.Float, nullable=True),
        sa.Column("execution_duration", sa.Integer, nullable=False),
        sa.Column("destruction", sa.Float, nullable=False),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("error_type", sa.String(16), nullable=True),
        sa.Column("container", sa.String(128), nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
    )
    op.create_index("ix_jobs_owner", "jobs", ["owner"])
    op.create_index("ix_jobs_owner_seq", "jobs", ["owner", "seq"])
    op.create_index("ix_jobs_phase", "jobs", ["phase"])
    op.create_index("ix_jobs_destruction", "jobs", ["destruction"])


def downgrade() -> None:
    op.drop_table("jobs")
