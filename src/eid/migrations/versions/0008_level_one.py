"""Level 1 in the app: applications carry their level and channel; selfie hashes

Revision ID: 0008_level_one
Revises: 0007_passkeys
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_level_one"
down_revision: str | None = "0007_passkeys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "applications",
        sa.Column("level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
    )
    op.add_column(
        "applications",
        sa.Column("channel", sa.String(length=8), server_default="office", nullable=False),
    )
    op.add_column(
        "applications", sa.Column("registration_token_hash", sa.String(length=64), nullable=True)
    )
    op.add_column(
        "applications",
        sa.Column("registration_token_expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.alter_column(
        "applications", "office_code", existing_type=sa.String(length=32), nullable=True
    )
    op.alter_column("applications", "created_by", existing_type=sa.Uuid(), nullable=True)
    op.create_check_constraint(op.f("ck_applications_level"), "applications", "level IN (1, 2)")
    op.create_check_constraint(
        op.f("ck_applications_channel"), "applications", "channel IN ('office', 'app')"
    )
    op.create_check_constraint(
        op.f("ck_applications_office_channel"),
        "applications",
        "channel = 'app' OR (office_code IS NOT NULL AND created_by IS NOT NULL)",
    )
    op.alter_column("reviews", "office_code", existing_type=sa.String(length=32), nullable=True)
    op.create_table(
        "selfie_hashes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("phash", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_selfie_hashes_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selfie_hashes")),
    )
    op.create_index(
        op.f("ix_selfie_hashes_application_id"), "selfie_hashes", ["application_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_selfie_hashes_application_id"), table_name="selfie_hashes")
    op.drop_table("selfie_hashes")
    op.alter_column("reviews", "office_code", existing_type=sa.String(length=32), nullable=False)
    op.drop_constraint(op.f("ck_applications_office_channel"), "applications", type_="check")
    op.drop_constraint(op.f("ck_applications_channel"), "applications", type_="check")
    op.drop_constraint(op.f("ck_applications_level"), "applications", type_="check")
    op.alter_column("applications", "created_by", existing_type=sa.Uuid(), nullable=False)
    op.alter_column(
        "applications", "office_code", existing_type=sa.String(length=32), nullable=False
    )
    op.drop_column("applications", "registration_token_expires_at")
    op.drop_column("applications", "registration_token_hash")
    op.drop_column("applications", "channel")
    op.drop_column("applications", "level")
