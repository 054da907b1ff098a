from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin
from eid.core.sealed import TEXT, Sealed

RECIPIENT_TYPES = ("application", "account")
CHANNELS = ("email", "sms", "app")
STATUSES = ("queued", "sent", "failed", "delivered")


class Notification(TimestampMixin, Base):
    """One message on one channel. `body` is sealed (it may carry an activation code), bound to
    the row by the AAD `notification:{id}`; subjects never carry secrets."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("recipient_type IN ('application', 'account')", name="recipient_type"),
        CheckConstraint("channel IN ('email', 'sms', 'app')", name="channel"),
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'delivered')", name="status"),
        Index("ix_notifications_recipient", "recipient_type", "recipient_id"),
        # The expiry sweep reads only the few messages whose secret is still in clear.
        Index(
            "ix_notifications_secret_pending",
            "secret_expires_at",
            postgresql_where=text("masked_body IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(250), unique=True)
    recipient_type: Mapped[str] = mapped_column(String(16))
    recipient_id: Mapped[uuid.UUID] = mapped_column()
    channel: Mapped[str] = mapped_column(String(8))
    address = Sealed[str | None](TEXT)  # sealed (eid.core.sealed)
    address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An app message carrying a one-time secret (activation code, OTP) keeps beside its body the
    # same text with the secret masked, sealed under the body's own AAD; once the code is used,
    # superseded or expired, that copy overwrites the body in one UPDATE and is cleared
    # (`service.redact_secrets`). SMS and email rows never get one: those texts left the system.
    masked_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def body_aad(notification_id: uuid.UUID) -> bytes:
    return f"notification:{notification_id}".encode()
