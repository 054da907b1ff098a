"""Revocation of issuing certificates: the root's CRL, and which certificate signed each card

`wallet_issuer_certs.revoked_at` and `revocation_reason` (RFC 5280 §5.3.1 names, checked);
`wallet_issuer_crls`: every CRL the root signed, by CRL number (the newest is served at
`/api/v1/wallet/issuer/root.crl`); `wallet_credentials.signer_kid`: the issuing certificate that
signed the card, filled for existing cards from their `wallet.credential_issued` audit event
(which names the kid), so the cards of a revoked certificate can be found.

Revision ID: 0023_crl
Revises: 0022_vci_authz
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_crl"
down_revision: str | None = "0022_vci_authz"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = (
    "'unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', "
    "'cessationOfOperation', 'privilegeWithdrawn'"
)


def upgrade() -> None:
    op.add_column(
        "wallet_issuer_certs", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "wallet_issuer_certs",
        sa.Column("revocation_reason", sa.String(length=24), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_wallet_issuer_certs_revocation"),
        "wallet_issuer_certs",
        "(revoked_at IS NULL) = (revocation_reason IS NULL) AND (revocation_reason IS NULL "
        f"OR revocation_reason IN ({REASONS}))",
    )
    op.create_table(
        "wallet_issuer_crls",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_kid", sa.String(length=64), nullable=False),
        sa.Column("crl_der", sa.LargeBinary(), nullable=False),
        sa.Column("this_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_wallet_issuer_crls")),
    )
    op.add_column(
        "wallet_credentials", sa.Column("signer_kid", sa.String(length=64), nullable=True)
    )
    op.create_index(
        op.f("ix_wallet_credentials_signer_kid"),
        "wallet_credentials",
        ["signer_kid"],
        unique=False,
    )
    # The audit event of each issuance names the kid that signed it (EdDSA cards: none).
    op.execute(
        "UPDATE wallet_credentials c SET signer_kid = e.details->>'kid' FROM audit_events e "
        "WHERE e.action = 'wallet.credential_issued' "
        "AND e.details->>'credential_id' = c.id::text AND e.details ? 'kid'"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_wallet_credentials_signer_kid"), table_name="wallet_credentials")
    op.drop_column("wallet_credentials", "signer_kid")
    op.drop_table("wallet_issuer_crls")
    op.drop_constraint(
        op.f("ck_wallet_issuer_certs_revocation"), "wallet_issuer_certs", type_="check"
    )
    op.drop_column("wallet_issuer_certs", "revocation_reason")
    op.drop_column("wallet_issuer_certs", "revoked_at")
