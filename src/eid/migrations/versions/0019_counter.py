"""The officer's counter: TK01 corrections with their old and new values

`application_corrections`: one row per corrected field (sealed old/new value), so the audit
log, which holds no personal data, names only the field (`eid.enrolment.counter`).

Revision ID: 0019_counter
Revises: 0015_oid4vci
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_counter"
down_revision: str | None = "0015_oid4vci"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "application_corrections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=False),
        sa.Column("change_sealed", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_corrections_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
            name=op.f("fk_application_corrections_officer_id_officers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_corrections")),
    )
    op.create_index(
        op.f("ix_application_corrections_application_id"),
        "application_corrections",
        ["application_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_application_corrections_application_id"), table_name="application_corrections"
    )
    op.drop_table("application_corrections")
