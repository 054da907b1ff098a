"""OpenID4VP verifier: presentation requests relying parties make, and their outcome

`oid4vp_requests`: one row per request (DCQL query, nonce, state, single answer); what the
wallet disclosed is kept only until the relying party collects it or a few minutes pass.

Revision ID: 0016_oid4vp
Revises: 0014_vc_formats (the lead may re-chain)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_oid4vp"
down_revision: str | None = "0014_vc_formats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "oid4vp_requests",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("handle", sa.String(length=43), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("dcql_query", _JSONB, nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("response_mode", sa.String(length=16), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=True),
        sa.Column("response_code_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=48), nullable=True),
        sa.Column("result", _JSONB, nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oid4vp_requests")),
        sa.UniqueConstraint("handle", name=op.f("uq_oid4vp_requests_handle")),
        sa.UniqueConstraint("state", name=op.f("uq_oid4vp_requests_state")),
    )
    op.create_index(
        op.f("ix_oid4vp_requests_client_id"), "oid4vp_requests", ["client_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_oid4vp_requests_client_id"), table_name="oid4vp_requests")
    op.drop_table("oid4vp_requests")
