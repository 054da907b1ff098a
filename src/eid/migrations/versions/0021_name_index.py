"""A blind index of the account holder's name: a supervisor's search by name no longer unseals
every living account's name

`accounts.full_name_key`: HMAC-SHA-256 under the blind-index keyring of the normalised name
(`eid.core.sealed.normalise_name`), kept by the model like the documents' indexes and recomputed
by `eid keys reseal`. Existing rows are filled here, in batches.

Revision ID: 0021_name_index
Revises: 0020_agency_locks
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_name_index"
down_revision: str | None = "0020_agency_locks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def upgrade() -> None:
    from eid.core.sealed import INDEX_LENGTH, index_value, normalise_name, unseal_value

    op.add_column("accounts", sa.Column("full_name_key", sa.String(INDEX_LENGTH), nullable=True))
    bind = op.get_bind()
    after = uuid.UUID(int=0)
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, full_name_sealed FROM accounts WHERE id > :after ORDER BY id LIMIT :n"
            ),
            {"after": after, "n": BATCH},
        ).all()
        if not rows:
            break
        for row_id, blob in rows:
            name = unseal_value(blob, aad=f"accounts.full_name:{row_id}".encode()).decode()
            bind.execute(
                sa.text("UPDATE accounts SET full_name_key = :k WHERE id = :id"),
                {"k": index_value(normalise_name(name)), "id": row_id},
            )
        after = rows[-1][0]
    op.alter_column("accounts", "full_name_key", nullable=False)
    op.create_index("ix_accounts_full_name_key", "accounts", ["full_name_key"])


def downgrade() -> None:
    op.drop_index("ix_accounts_full_name_key", table_name="accounts")
    op.drop_column("accounts", "full_name_key")
