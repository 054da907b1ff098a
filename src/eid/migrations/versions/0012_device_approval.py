"""Approval on the bound device: sign-ins waiting for the holder's "approve" in the eID app

`holder_device_approvals`: one row per request from a login page; pending -> approved, denied
or expired once (check constraints), bound to the asking browser by the hash of its cookie.

Revision ID: 0012_device_approval
Revises: 0010_oidc_logout
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_device_approval"
down_revision: str | None = "0010_oidc_logout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holder_device_approvals",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("claims", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("matching_code", sa.String(length=2), nullable=False),
        sa.Column("code_choices", postgresql.ARRAY(sa.String(length=2)), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("authorize_url", sa.Text(), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'denied', 'expired')",
            name=op.f("ck_holder_device_approvals_known_status"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)",
            name=op.f("ck_holder_device_approvals_one_decision"),
        ),
        sa.CheckConstraint(
            "used_at IS NULL OR status = 'approved'",
            name=op.f("ck_holder_device_approvals_used_if_approved"),
        ),
        sa.CheckConstraint(
            "account_id IS NOT NULL OR status <> 'approved'",
            name=op.f("ck_holder_device_approvals_approved_by_one"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holder_device_approvals")),
    )
    op.create_index(
        op.f("ix_holder_device_approvals_account_id"),
        "holder_device_approvals",
        ["account_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_holder_device_approvals_account_id"), table_name="holder_device_approvals"
    )
    op.drop_table("holder_device_approvals")
