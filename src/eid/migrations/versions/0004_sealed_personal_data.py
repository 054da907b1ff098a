"""sealed personal data: names, birth dates, document numbers, phones, emails, addresses

Every such column becomes `<name>_sealed` (AES-256-GCM, key id inside, AAD
`<table>.<field>:<row id>`), look-ups move to blind index columns (HMAC-SHA-256, key id prefix),
and the plain columns are dropped. Existing rows are sealed here with the application's keys
(EID_KEYS_DIR, or the data folder's `keys` in development), so run it where the app runs.

Revision ID: 0004_sealed_personal_data
Revises: 0003_officer_session_idle
Create Date: 2026-11-30 05:40:00
"""

# ruff: noqa: S608 - the SQL is built from the table and column names listed here, no input
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from eid.core.sealed import (
    DATE,
    INDEX_LENGTH,
    JSON,
    TEXT,
    Codec,
    index_value,
    normalise_document,
    seal_value,
    unseal_value,
)

revision: str = "0004_sealed_personal_data"
down_revision: str | None = "0003_officer_session_idle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSONB = postgresql.JSONB(astext_type=sa.Text())
# table -> (field, codec, plain column type, nullable)
FIELDS: dict[str, list[tuple[str, Codec[Any], Any, bool]]] = {
    "applications": [
        ("full_name", TEXT, sa.String(200), False),
        ("date_of_birth", DATE, sa.Date(), False),
        ("passport", JSON, _JSONB, False),
        ("residence_card", JSON, _JSONB, False),
        ("address", TEXT, sa.String(500), False),
        ("phone", TEXT, sa.String(20), False),
        ("email", TEXT, sa.String(254), True),
        ("integrations", JSON, _JSONB, False),
        ("guardian", JSON, _JSONB, True),
    ],
    "accounts": [
        ("full_name", TEXT, sa.String(200), False),
        ("date_of_birth", DATE, sa.Date(), False),
        ("passport", JSON, _JSONB, False),
        ("residence_card", JSON, _JSONB, False),
        ("phone", TEXT, sa.String(20), False),
        ("email", TEXT, sa.String(254), True),
        ("guardian", JSON, _JSONB, True),
    ],
    "registry_persons": [
        ("full_name", TEXT, sa.String(200), False),
        ("date_of_birth", DATE, sa.Date(), False),
        ("passport_number", TEXT, sa.String(20), False),
        ("card_number", TEXT, sa.String(20), False),
    ],
    "notifications": [("address", TEXT, sa.String(320), True)],
}
# table -> (index column, field it is computed from, normalisation)
INDEXES: dict[str, list[tuple[str, str, Any]]] = {
    "applications": [
        (
            "passport_key",
            "passport",
            lambda p: f"{p['issuing_state']}:{normalise_document(p['number'])}",
        )
    ],
    "registry_persons": [
        ("passport_number_key", "passport_number", normalise_document),
        ("card_number_key", "card_number", normalise_document),
    ],
}
BATCH = 1000


def _aad(table: str, field: str, row_id: Any) -> bytes:
    return f"{table}.{field}:{row_id}".encode()


def _plain(value: Any, codec: Codec[Any]) -> Any:
    # psycopg hands back JSONB as objects, DATE as dates: what the codecs encode.
    if codec is DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def upgrade() -> None:
    bind = op.get_bind()
    for table, fields in FIELDS.items():
        for field, _, _, _ in fields:
            op.add_column(table, sa.Column(f"{field}_sealed", sa.LargeBinary(), nullable=True))
    op.alter_column(
        "applications",
        "passport_key",
        type_=sa.String(INDEX_LENGTH),
        existing_type=sa.String(64),
        existing_nullable=False,
    )
    for column, _, _ in INDEXES["registry_persons"]:
        op.add_column("registry_persons", sa.Column(column, sa.String(INDEX_LENGTH), nullable=True))

    for table, fields in FIELDS.items():
        names = [f for f, _, _, _ in fields]
        indexes = INDEXES.get(table, [])
        rows = bind.execute(sa.text(f"SELECT id, {', '.join(names)} FROM {table}")).mappings()
        sets = [f"{f}_sealed = :{f}_sealed" for f in names] + [f"{c} = :{c}" for c, _, _ in indexes]
        update = sa.text(f"UPDATE {table} SET {', '.join(sets)} WHERE id = :id")
        batch: list[dict[str, Any]] = []
        for row in rows.fetchall():
            values: dict[str, Any] = {"id": row["id"]}
            for field, codec, _, _ in fields:
                plain = _plain(row[field], codec)
                values[f"{field}_sealed"] = (
                    None
                    if plain is None
                    else seal_value(codec.encode(plain), aad=_aad(table, field, row["id"]))
                )
            for column, field, normalise in indexes:
                values[column] = index_value(normalise(row[field]))
            batch.append(values)
            if len(batch) >= BATCH:
                bind.execute(update, batch)
                batch = []
        if batch:
            bind.execute(update, batch)

    op.drop_constraint("uq_registry_persons_card_number", "registry_persons", type_="unique")
    op.drop_constraint("uq_registry_persons_passport_number", "registry_persons", type_="unique")
    for table, fields in FIELDS.items():
        for field, _, _, nullable in fields:
            if not nullable:
                op.alter_column(table, f"{field}_sealed", nullable=False)
            op.drop_column(table, field)
    for column, _, _ in INDEXES["registry_persons"]:
        op.alter_column("registry_persons", column, nullable=False)
        op.create_unique_constraint(
            op.f(f"uq_registry_persons_{column}"), "registry_persons", [column]
        )


def downgrade() -> None:
    bind = op.get_bind()
    for table, fields in FIELDS.items():
        for field, _, type_, _ in fields:
            op.add_column(table, sa.Column(field, type_, nullable=True))
        names = [f for f, _, _, _ in fields]
        rows = bind.execute(
            sa.text(f"SELECT id, {', '.join(f + '_sealed' for f in names)} FROM {table}")
        ).mappings()
        update = sa.text(
            f"UPDATE {table} SET {', '.join(f'{f} = :{f}' for f in names)} WHERE id = :id"
        )
        for row in rows.fetchall():
            values: dict[str, Any] = {"id": row["id"]}
            for field, codec, type_, _ in fields:
                blob = row[f"{field}_sealed"]
                plain = (
                    None
                    if blob is None
                    else codec.decode(unseal_value(blob, aad=_aad(table, field, row["id"])))
                )
                values[field] = (
                    json.dumps(plain) if type_ is _JSONB and plain is not None else plain
                )
            bind.execute(update, values)
        for field, _, _, nullable in fields:
            if not nullable:
                op.alter_column(table, field, nullable=False)
            op.drop_column(table, f"{field}_sealed")
    for column, _, _ in INDEXES["registry_persons"]:
        op.drop_constraint(f"uq_registry_persons_{column}", "registry_persons", type_="unique")
        op.drop_column("registry_persons", column)
    op.create_unique_constraint(
        "uq_registry_persons_passport_number", "registry_persons", ["passport_number"]
    )
    op.create_unique_constraint(
        "uq_registry_persons_card_number", "registry_persons", ["card_number"]
    )
    # The old key was HMAC under the `blind-index` secret over "<nationality>:<number>".
    import hashlib
    import hmac

    from eid.core.crypto import get_keystore

    secret = get_keystore().secret("blind-index")
    for row in bind.execute(
        sa.text("SELECT id, nationality, passport FROM applications")
    ).mappings():
        key = hmac.new(
            secret,
            f"{row['nationality']}:{row['passport']['number']}".strip().upper().encode(),
            hashlib.sha256,
        ).hexdigest()
        bind.execute(
            sa.text("UPDATE applications SET passport_key = :k WHERE id = :id"),
            {"k": key, "id": row["id"]},
        )
    op.alter_column(
        "applications",
        "passport_key",
        type_=sa.String(64),
        existing_type=sa.String(INDEX_LENGTH),
        existing_nullable=False,
    )
