"""OIDC: next signing keys published before they sign, and RP-initiated logout

`oidc_signing_keys.signs_from`: a rotation publishes the next key at once but it signs only from
this time (after the JWKS' max-age), so a verifier caching the JWKS never meets an unknown `kid`;
the one key without a successor has `retired_at` NULL (partial unique index: two processes
starting at once cannot both make a first key). `relying_parties.post_logout_redirect_uris`:
where RP-initiated logout may send the holder back.

Revision ID: 0010_oidc_logout
Revises: 0009_holder_documents
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_oidc_logout"
down_revision: str | None = "0009_holder_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "oidc_signing_keys", sa.Column("signs_from", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE oidc_signing_keys SET signs_from = created_at")
    # Older rotations left only the active key without `retired_at`; any other such row is
    # retired now so the one-current-key index holds.
    op.execute(
        "UPDATE oidc_signing_keys SET retired_at = now(), publish_until = now() + interval "
        "'70 minutes' WHERE retired_at IS NULL AND kid NOT IN (SELECT kid FROM "
        "oidc_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1)"
    )
    op.alter_column("oidc_signing_keys", "signs_from", nullable=False)
    op.create_index(
        "uq_oidc_signing_keys_one_current",
        "oidc_signing_keys",
        [sa.text("(retired_at IS NULL)")],
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL"),
    )
    op.add_column(
        "relying_parties",
        sa.Column(
            "post_logout_redirect_uris",
            postgresql.ARRAY(sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("relying_parties", "post_logout_redirect_uris")
    op.drop_index("uq_oidc_signing_keys_one_current", table_name="oidc_signing_keys")
    op.drop_column("oidc_signing_keys", "signs_from")
