"""holder app: redactable inbox secrets, declared documents with their state, card QR links

Notifications carrying a one-time code keep a masked copy until the code is used
(`masked_body`, `secret_expires_at`, `redacted_at`); accounts and the reference registry's
persons hold the documents of TK01 `integrations` (sealed JSON); the card's QR carries a short
link to `wallet_card_links`.

Revision ID: 0009_holder_documents
Revises: 0008_level_one
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_holder_documents"
down_revision: str | None = "0008_level_one"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("masked_body", sa.LargeBinary(), nullable=True))
    op.add_column(
        "notifications",
        sa.Column("secret_expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "notifications", sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_notifications_secret_pending",
        "notifications",
        ["secret_expires_at"],
        postgresql_where=sa.text("masked_body IS NOT NULL"),
    )
    op.add_column("accounts", sa.Column("documents_sealed", sa.LargeBinary(), nullable=True))
    op.add_column(
        "registry_persons", sa.Column("documents_sealed", sa.LargeBinary(), nullable=True)
    )
    op.create_table(
        "wallet_card_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("claims", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_card_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_wallet_card_links_token_hash")),
    )
    op.create_index(op.f("ix_wallet_card_links_account_id"), "wallet_card_links", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_wallet_card_links_account_id"), table_name="wallet_card_links")
    op.drop_table("wallet_card_links")
    op.drop_column("registry_persons", "documents_sealed")
    op.drop_column("accounts", "documents_sealed")
    op.drop_index("ix_notifications_secret_pending", table_name="notifications")
    op.drop_column("notifications", "redacted_at")
    op.drop_column("notifications", "secret_expires_at")
    op.drop_column("notifications", "masked_body")
