"""Blind indexes of names: a supervisor's search of a person by name finds accounts and registry
records without unsealing every name

`accounts.full_name_key`, `registry_persons.full_name_key`: HMAC-SHA-256 under the blind-index
keyring of the normalised name (`eid.core.sealed.normalise_name`), kept by the models like the
documents' indexes and recomputed by `eid keys reseal`. Existing rows are filled here, in
batches.

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
TABLES = ("accounts", "registry_persons")


def upgrade() -> None:
    for table in TABLES:
        _add_name_index(table)


def _add_name_index(table: str) -> None:
    from eid.core.sealed import INDEX_LENGTH, index_value, normalise_name, unseal_value

    op.add_column(table, sa.Column("full_name_key", sa.String(INDEX_LENGTH), nullable=True))
    bind = op.get_bind()
    after = uuid.UUID(int=0)
    select_batch = sa.text(
        f"SELECT id, full_name_sealed FROM {table} WHERE id > :after ORDER BY id LIMIT :n"  # noqa: S608 (a constant)
    )
    update = sa.text(f"UPDATE {table} SET full_name_key = :k WHERE id = :id")  # noqa: S608
    while True:
        rows = bind.execute(select_batch, {"after": after, "n": BATCH}).all()
        if not rows:
            break
        for row_id, blob in rows:
            name = unseal_value(blob, aad=f"{table}.full_name:{row_id}".encode()).decode()
            bind.execute(update, {"k": index_value(normalise_name(name)), "id": row_id})
        after = rows[-1][0]
    op.alter_column(table, "full_name_key", nullable=False)
    op.create_index(f"ix_{table}_full_name_key", table, ["full_name_key"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_full_name_key", table_name=table)
        op.drop_column(table, "full_name_key")
