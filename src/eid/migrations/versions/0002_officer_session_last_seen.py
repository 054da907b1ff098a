"""officer sessions: when each was last used (idle timeout)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Sessions open at upgrade time count as used now: none is cut off by the upgrade itself.
    op.add_column(
        "officer_sessions",
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("officer_sessions", "last_seen_at")
