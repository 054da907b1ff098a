"""officer sessions: when each was last used (idle timeout), and when it was signed out

Revision ID: 0003_officer_session_idle
Revises: 0002_audit_chain
Create Date: 2026-11-30 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_officer_session_idle"
down_revision: str | None = "0002_audit_chain"
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
    # Sign-out marks the session instead of deleting it: the application role may not delete
    # officer sessions (eid.core.roles), and the row stays as a record of when it ended.
    op.add_column("officer_sessions", sa.Column("revoked_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("officer_sessions", "revoked_at")
    op.drop_column("officer_sessions", "last_seen_at")
