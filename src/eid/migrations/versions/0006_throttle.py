"""throttle buckets; activation lockout that expires

Revision ID: 0006_throttle
Revises: 0005_worker_heartbeats
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_throttle"
down_revision: str | None = "0005_worker_heartbeats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # UNLOGGED: a rate counter needs no WAL; a crash only refills the buckets (core.throttle).
    op.create_table(
        "throttle_buckets",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("tat", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_buckets")),
        prefixes=["UNLOGGED"],
    )
    op.add_column(
        "accounts",
        sa.Column("activation_locked_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("accounts", "activation_locked_until")
    op.drop_table("throttle_buckets")
