"""Append-only audit log: who (and in which role and office) did what, when and why.

The table refuses UPDATE and DELETE by trigger (see the migration), and the application's
database role holds only SELECT and INSERT on it (eid.core.roles). Each committed row is
hash-chained to the one before by the database (audit_chain, revision 0002_audit_chain) and the
chain's head is signed periodically (audit_checkpoints); eid.core.audit_chain verifies both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, Session, mapped_column

from eid.core.database import Base


@dataclass(frozen=True)
class Actor:
    """Whoever acts: an officer, the holder, a relying party, a worker, the system."""

    kind: str  # officer | holder | client | system
    id: str
    role: str | None = None
    office: str | None = None

    @staticmethod
    def system(name: str = "system") -> Actor:
        return Actor(kind="system", id=name, role="system")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False, index=True
    )
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    office: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditChainLink(Base):
    """Position `seq` of the chain: the hash over the event and the previous link's hash.
    Written only by the database's commit-time trigger."""

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_events.id"), unique=True)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    row_hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpoint(Base):
    """An Ed25519 signature over the chain's head (its hash and row count) at a time."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)


def record(
    session: Session,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str | uuid.UUID,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction. Details never hold personal data."""
    session.add(
        AuditEvent(
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_role=actor.role,
            office=actor.office,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            reason=reason,
            details=details or {},
        )
    )


# The table is append-only for everyone, the application's own role included.
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
"""
