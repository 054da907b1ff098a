"""passkeys: WebAuthn devices beside JWS device keys, their ceremonies, the user handle

Revision ID: 0007_passkeys
Revises: 0006_throttle
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_passkeys"
down_revision: str | None = "0006_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One table for both kinds, so "one bound device" (uq_holder_devices_one_bound) covers both.
    op.add_column(
        "holder_devices",
        sa.Column("kind", sa.String(length=16), server_default="jws", nullable=False),
    )
    op.add_column("holder_devices", sa.Column("credential_id", sa.LargeBinary(), nullable=True))
    op.add_column("holder_devices", sa.Column("public_key", sa.LargeBinary(), nullable=True))
    op.add_column(
        "holder_devices",
        sa.Column("sign_count", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "holder_devices",
        sa.Column("transports", postgresql.ARRAY(sa.String(length=16)), nullable=True),
    )
    op.create_unique_constraint(
        op.f("uq_holder_devices_credential_id"), "holder_devices", ["credential_id"]
    )
    op.add_column(
        "holder_credentials",
        sa.Column("passkey_user_handle", sa.String(length=64), nullable=True),
    )
    op.create_unique_constraint(
        op.f("uq_holder_credentials_passkey_user_handle"),
        "holder_credentials",
        ["passkey_user_handle"],
    )
    op.create_table(
        "holder_passkey_ceremonies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column("user_handle", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holder_passkey_ceremonies")),
    )
    op.create_index(
        op.f("ix_holder_passkey_ceremonies_account_id"),
        "holder_passkey_ceremonies",
        ["account_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_holder_passkey_ceremonies_account_id"), table_name="holder_passkey_ceremonies"
    )
    op.drop_table("holder_passkey_ceremonies")
    op.drop_constraint(
        op.f("uq_holder_credentials_passkey_user_handle"), "holder_credentials", type_="unique"
    )
    op.drop_column("holder_credentials", "passkey_user_handle")
    op.drop_constraint(op.f("uq_holder_devices_credential_id"), "holder_devices", type_="unique")
    for column in ("transports", "sign_count", "public_key", "credential_id", "kind"):
        op.drop_column("holder_devices", column)
