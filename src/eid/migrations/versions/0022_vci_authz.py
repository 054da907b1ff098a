"""OpenID4VCI authorization code flow beyond `scope`: authorization_details and issuer_state

`oidc_authorization_codes.authorization_details`: the RFC 9396 `openid_credential` entries the
holder granted, each with the `credential_identifiers` eid assigned (OpenID4VCI 1.0 §6.2); the
token rows reach it by their `origin_code_hash`. `wallet_vci_offers.issuer_state_hash`: the hash
of the `issuer_state` of an offer's `authorization_code` grant (§4.1.1), NULL for an offer with
the pre-authorized code only.

Revision ID: 0022_vci_authz
Revises: 0021_name_index
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022_vci_authz"
down_revision: str | None = "0021_name_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "oidc_authorization_codes",
        sa.Column("authorization_details", postgresql.JSONB(), nullable=True),
    )
    op.add_column("wallet_vci_offers", sa.Column("issuer_state_hash", sa.String(64)))
    op.create_unique_constraint(
        op.f("uq_wallet_vci_offers_issuer_state_hash"), "wallet_vci_offers", ["issuer_state_hash"]
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("uq_wallet_vci_offers_issuer_state_hash"), "wallet_vci_offers", type_="unique"
    )
    op.drop_column("wallet_vci_offers", "issuer_state_hash")
    op.drop_column("oidc_authorization_codes", "authorization_details")
