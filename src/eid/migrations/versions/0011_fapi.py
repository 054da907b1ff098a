"""FAPI 2.0: client profiles and keys, pushed authorization requests, DPoP bindings, replay store

`relying_parties`: `profile` (basic | fapi2), the client's public keys (`jwks` or `jwks_uri`),
`token_endpoint_auth_method`; `secret_hash` becomes optional (a private_key_jwt client has no
secret). `oidc_authorization_codes.dpop_jkt` and `oidc_tokens.dpop_jkt`: RFC 9449 bindings.
`oidc_pushed_requests`: RFC 9126 request_uris. `oidc_spent_jtis`: single-use `jti` of client
assertions, DPoP proofs and request objects.

Revision ID: 0011_fapi
Revises: 0012_device_approval (re-chained after main merged it on 0010)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_fapi"
down_revision: str | None = "0012_device_approval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.add_column(
        "relying_parties",
        sa.Column("profile", sa.String(16), server_default="basic", nullable=False),
    )
    op.add_column("relying_parties", sa.Column("jwks", _JSONB, nullable=True))
    op.add_column("relying_parties", sa.Column("jwks_uri", sa.Text(), nullable=True))
    op.add_column(
        "relying_parties",
        sa.Column(
            "token_endpoint_auth_method",
            sa.String(32),
            server_default="client_secret_basic",
            nullable=False,
        ),
    )
    op.alter_column("relying_parties", "secret_hash", nullable=True)
    op.create_check_constraint(
        op.f("ck_relying_parties_profile"), "relying_parties", "profile IN ('basic', 'fapi2')"
    )
    op.add_column("oidc_authorization_codes", sa.Column("dpop_jkt", sa.String(64)))
    op.add_column("oidc_tokens", sa.Column("dpop_jkt", sa.String(64)))
    op.create_table(
        "oidc_pushed_requests",
        sa.Column("uri_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("params", _JSONB, nullable=False),
        sa.Column("dpop_jkt", sa.String(64)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ticket_hash", sa.String(64)),
        sa.Column("interaction_expires_at", sa.DateTime(timezone=True)),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_oidc_pushed_requests_expires_at", "oidc_pushed_requests", ["expires_at"])
    op.create_table(
        "oidc_spent_jtis",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_oidc_spent_jtis_expires_at", "oidc_spent_jtis", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_oidc_spent_jtis_expires_at", table_name="oidc_spent_jtis")
    op.drop_table("oidc_spent_jtis")
    op.drop_index("ix_oidc_pushed_requests_expires_at", table_name="oidc_pushed_requests")
    op.drop_table("oidc_pushed_requests")
    op.drop_column("oidc_tokens", "dpop_jkt")
    op.drop_column("oidc_authorization_codes", "dpop_jkt")
    op.drop_constraint(op.f("ck_relying_parties_profile"), "relying_parties", type_="check")
    op.execute("DELETE FROM relying_parties WHERE secret_hash IS NULL")
    op.alter_column("relying_parties", "secret_hash", nullable=False)
    op.drop_column("relying_parties", "token_endpoint_auth_method")
    op.drop_column("relying_parties", "jwks_uri")
    op.drop_column("relying_parties", "jwks")
    op.drop_column("relying_parties", "profile")
