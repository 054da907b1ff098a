"""Wallet: the issuing certificate chain, and the format and holder key of each credential

`wallet_issuer_certs`: the eid Root CA and its issuing (Document Signer) certificates, private
keys sealed; one current per role (partial unique index), so two processes starting at once make
one chain. `wallet_credentials.format` (dc+sd-jwt | mso_mdoc | eddsa+sd-jwt, the cards issued
before) and `holder_jkt`; `device_id` may be empty (a wallet's own key, through OpenID4VCI).

Revision ID: 0014_vc_formats
Revises: 0011_fapi
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_vc_formats"
down_revision: str | None = "0011_fapi"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_issuer_certs",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("cert_der", sa.LargeBinary(), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "uq_wallet_issuer_certs_one_current",
        "wallet_issuer_certs",
        ["role"],
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL"),
    )
    op.add_column(
        "wallet_credentials",
        sa.Column("format", sa.String(16), server_default="eddsa+sd-jwt", nullable=False),
    )
    op.alter_column("wallet_credentials", "format", server_default=None)
    op.add_column("wallet_credentials", sa.Column("holder_jkt", sa.String(64)))
    op.alter_column("wallet_credentials", "device_id", nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM wallet_credentials WHERE device_id IS NULL")
    op.alter_column("wallet_credentials", "device_id", nullable=False)
    op.drop_column("wallet_credentials", "holder_jkt")
    op.drop_column("wallet_credentials", "format")
    op.drop_index("uq_wallet_issuer_certs_one_current", table_name="wallet_issuer_certs")
    op.drop_table("wallet_issuer_certs")
