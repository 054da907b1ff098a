"""OpenID4VCI: credential offers (pre-authorized codes), issuance nonces; a credential issued to
a wallet key has no device; relying parties of profile `wallet` (public clients)

Revision ID: 0015_oid4vci
Revises: 0016_oid4vp
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_oid4vci"
down_revision: str | None = "0016_oid4vp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    # A wallet: an OpenID4VCI public client (`eid client create --profile wallet`).
    op.drop_constraint(op.f("ck_relying_parties_profile"), "relying_parties", type_="check")
    op.create_check_constraint(
        op.f("ck_relying_parties_profile"),
        "relying_parties",
        "profile IN ('basic', 'fapi2', 'wallet')",
    )
    op.create_table(
        "wallet_vci_offers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("configuration_ids", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("uri_token_hash", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("tx_code_hash", sa.String(64), nullable=False),
        sa.Column("acr", sa.String(40), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _created(),
        sa.UniqueConstraint("uri_token_hash", name=op.f("uq_wallet_vci_offers_uri_token_hash")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_wallet_vci_offers_code_hash")),
    )
    op.create_table(
        "wallet_vci_nonces",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
    )
    op.create_index(op.f("ix_wallet_vci_offers_account_id"), "wallet_vci_offers", ["account_id"])
    op.create_index(op.f("ix_wallet_vci_nonces_expires_at"), "wallet_vci_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_table("wallet_vci_nonces")
    op.drop_table("wallet_vci_offers")
    op.execute("DELETE FROM relying_parties WHERE profile = 'wallet'")
    op.drop_constraint(op.f("ck_relying_parties_profile"), "relying_parties", type_="check")
    op.create_check_constraint(
        op.f("ck_relying_parties_profile"), "relying_parties", "profile IN ('basic', 'fapi2')"
    )
