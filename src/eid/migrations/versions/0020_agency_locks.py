"""Locks asked by another agency: recorded, decided by a second officer, lifted

`agency_locks`: one row per request, with its legal ground, the agency and its document, the
decision and the lifting. The application role gets SELECT, INSERT and UPDATE on it (no DELETE:
`core.roles.apply_grants`, re-applied after every upgrade).

Revision ID: 0020_agency_locks
Revises: 0015_oid4vci
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_agency_locks"
down_revision: str | None = "0019_counter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency_locks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("ground", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.UUID(), nullable=False),
        sa.Column("request_note", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("lifted_by", sa.UUID(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reference", sa.String(length=100), nullable=True),
        sa.Column("lift_note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_agency_locks_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_locks")),
        sa.CheckConstraint(
            "ground IN ('agency_request', 'breach_of_terms')", name=op.f("ck_agency_locks_ground")
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'refused', 'active', 'lifted')",
            name=op.f("ck_agency_locks_status"),
        ),
    )
    op.create_index(
        op.f("ix_agency_locks_account_id"), "agency_locks", ["account_id"], unique=False
    )
    op.create_index(op.f("ix_agency_locks_status"), "agency_locks", ["status"], unique=False)
    op.create_index(
        op.f("ix_agency_locks_office_code"), "agency_locks", ["office_code"], unique=False
    )
    op.create_index(
        "uq_agency_locks_open_request",
        "agency_locks",
        ["account_id", "ground", "agency", "reference"],
        unique=True,
        postgresql_where=sa.text("status IN ('requested', 'active')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_agency_locks_open_request",
        table_name="agency_locks",
        postgresql_where=sa.text("status IN ('requested', 'active')"),
    )
    op.drop_index(op.f("ix_agency_locks_office_code"), table_name="agency_locks")
    op.drop_index(op.f("ix_agency_locks_status"), table_name="agency_locks")
    op.drop_index(op.f("ix_agency_locks_account_id"), table_name="agency_locks")
    op.drop_table("agency_locks")
