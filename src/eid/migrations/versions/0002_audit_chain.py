"""audit chain: every audit event hash-chained to the one before; signed checkpoints

Revision ID: 0002_audit_chain
Revises: 0001
Create Date: 2026-11-30 05:10:00

The chain is written by the database, not the application: a deferred constraint trigger on
audit_events runs at COMMIT, takes a transaction-scoped advisory lock, reads the last link and
appends the next one to audit_chain. Deferred, so the lock is held for the commit alone, not
for the rest of a request that logged an event early; at COMMIT, so the chain follows commit
order across processes. The trigger function is SECURITY DEFINER (owned by the owner role): the
application role can read audit_chain but not write it, so links exist only for rows that were
really inserted.

The SQL here is this revision's own copy (never imported from code that may change later);
eid.core.audit_chain recomputes the same serialisation in Python to verify.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_audit_chain"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# v1 serialisation of one link: "eid-audit-v1" then each field as <byte length>:<UTF-8 text>
# ("~" for NULL), fields in this order: position, id, at (UTC, microseconds), actor_kind,
# actor_id, actor_role, office, action, subject_type, subject_id, reason, details (jsonb text).
# hash = sha256(previous hash || serialisation); the first link's previous hash is 32 zero bytes.
CHAIN_SQL = r"""
CREATE FUNCTION audit_field(v text) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT coalesce(octet_length(v)::text || ':' || v, '~') $$;

CREATE FUNCTION audit_link_hash(prev bytea, seq bigint, e audit_events) RETURNS bytea
  LANGUAGE sql STABLE
  AS $$ SELECT sha256(prev || convert_to(
      'eid-audit-v1'
      || audit_field(seq::text)
      || audit_field(e.id::text)
      || audit_field(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
      || audit_field(e.actor_kind)
      || audit_field(e.actor_id)
      || audit_field(e.actor_role)
      || audit_field(e.office)
      || audit_field(e.action)
      || audit_field(e.subject_type)
      || audit_field(e.subject_id)
      || audit_field(e.reason)
      || audit_field(e.details::text),
      'UTF8')) $$;

CREATE FUNCTION audit_chain_append() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  last_seq bigint;
  last_hash bytea;
BEGIN
  -- One writer at a time; the lock ends with the transaction, after its commit is visible.
  PERFORM pg_advisory_xact_lock(1699300417);
  SELECT c.seq, c.row_hash INTO last_seq, last_hash
    FROM audit_chain c ORDER BY c.seq DESC LIMIT 1;
  IF last_seq IS NULL THEN
    last_seq := 0;
    last_hash := decode(repeat('00', 32), 'hex');
  END IF;
  INSERT INTO audit_chain (seq, event_id, prev_hash, row_hash)
    VALUES (last_seq + 1, NEW.id, last_hash, audit_link_hash(last_hash, last_seq + 1, NEW));
  RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION audit_chain_append() FROM PUBLIC;

CREATE FUNCTION audit_table_append_only() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""

BACKFILL_SQL = r"""
DO $$
DECLARE
  e audit_events;
  n bigint := 0;
  h bytea := decode(repeat('00', 32), 'hex');
  next_hash bytea;
BEGIN
  FOR e IN SELECT * FROM audit_events ORDER BY id LOOP
    n := n + 1;
    next_hash := audit_link_hash(h, n, e);
    INSERT INTO audit_chain (seq, event_id, prev_hash, row_hash) VALUES (n, e.id, h, next_hash);
    h := next_hash;
  END LOOP;
END;
$$;
"""

TRIGGERS_SQL = r"""
CREATE CONSTRAINT TRIGGER audit_events_chain AFTER INSERT ON audit_events
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_append();
CREATE TRIGGER audit_chain_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION audit_table_append_only();
CREATE TRIGGER audit_checkpoints_no_change
  BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_table_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("row_hash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["audit_events.id"],
            name=op.f("fk_audit_chain_event_id_audit_events"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_chain_event_id")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.execute(CHAIN_SQL)
    # Rows logged before this revision join the chain in id order (their commit order is lost).
    op.execute("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE")
    op.execute(BACKFILL_SQL)
    op.execute(TRIGGERS_SQL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_events_chain ON audit_events")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain")
    op.execute("DROP FUNCTION IF EXISTS audit_table_append_only()")
    op.execute("DROP FUNCTION IF EXISTS audit_chain_append()")
    op.execute("DROP FUNCTION IF EXISTS audit_link_hash(bytea, bigint, audit_events)")
    op.execute("DROP FUNCTION IF EXISTS audit_field(text)")
