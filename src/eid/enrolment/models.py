from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin
from eid.core.ids import new_id
from eid.core.sealed import DATE, INDEX_LENGTH, JSON, TEXT, Sealed, normalise_document

STATUSES = (
    "draft",
    "captured",
    "verified",
    "in_review",
    "consented",
    "submitted",
    "issued",
    "rejected",
    "cancelled",
)
OPEN_STATUSES = ("draft", "captured", "verified", "in_review", "consented", "submitted")


def passport_identity(passport: dict[str, Any]) -> str:
    """What makes two passports the same document: issuing state and number."""
    return f"{passport['issuing_state']}:{normalise_document(passport['number'])}"


class Application(TimestampMixin, Base):
    __tablename__ = "applications"
    __table_args__ = (
        # One open application per person (by passport) at any office.
        Index(
            "uq_applications_open_passport",
            "passport_key",
            unique=True,
            postgresql_where=text(
                "status IN ('draft','captured','verified','in_review','consented','submitted')"
            ),
        ),
        CheckConstraint("level IN (1, 2)", name="level"),
        CheckConstraint("channel IN ('office', 'app')", name="channel"),
        # Only a registration in the app has no office and no officer behind it.
        CheckConstraint(
            "channel = 'app' OR (office_code IS NOT NULL AND created_by IS NOT NULL)",
            name="office_channel",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The client's Idempotency-Key of the create request: a retry returns this application.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    office_code: Mapped[str | None] = mapped_column(ForeignKey("offices.code"), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officers.id"))
    # Level 2: TK01 at an office; Level 1: the holder's own registration in the app.
    level: Mapped[int] = mapped_column(SmallInteger, default=2, server_default=text("2"))
    channel: Mapped[str] = mapped_column(String(8), default="office", server_default="office")
    # The app's registration token (shown once, kept as a keyed hash) and when it expires.
    registration_token_hash: Mapped[str | None] = mapped_column(String(64))
    registration_token_expires_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Personal data: sealed (eid.core.sealed); the plain attributes read and write them.
    full_name = Sealed[str](TEXT)
    full_name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    date_of_birth = Sealed[dt.date](DATE)
    date_of_birth_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sex: Mapped[str] = mapped_column(String(1))
    nationality: Mapped[str] = mapped_column(String(3))
    passport = Sealed[dict[str, Any]](JSON, index="passport_key", normalise=passport_identity)
    passport_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    passport_key: Mapped[str] = mapped_column(String(INDEX_LENGTH))  # blind index
    residence_card = Sealed[dict[str, Any]](JSON)
    residence_card_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    address = Sealed[str](TEXT)
    address_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    phone = Sealed[str](TEXT)
    phone_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    email = Sealed[str | None](TEXT)
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(16))
    integrations = Sealed[dict[str, Any]](JSON, default=dict)
    integrations_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    guardian = Sealed[dict[str, Any] | None](JSON)
    guardian_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    phone_otp_hash: Mapped[str | None] = mapped_column(String(64))
    phone_otp_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    phone_otp_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    registry_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    biometrics_on_file: Mapped[bool | None] = mapped_column(Boolean)
    verification_run: Mapped[int] = mapped_column(SmallInteger, default=0)
    consent_by: Mapped[str | None] = mapped_column(String(16))
    consent_text_version: Mapped[str | None] = mapped_column(String(32))
    consent_language: Mapped[str | None] = mapped_column(String(16))
    consented_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_on: Mapped[dt.date | None] = mapped_column(Date)
    legal_deadline: Mapped[dt.date | None] = mapped_column(Date, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    eid_number: Mapped[str | None] = mapped_column(String(12))
    rejection_code: Mapped[str | None] = mapped_column(String(64))
    rejection_reason: Mapped[str | None] = mapped_column(Text)


class Capture(TimestampMixin, Base):
    """A portrait (position 0) or a fingerprint (ISO/IEC 19794 position 1-10), or its exception."""

    __tablename__ = "application_captures"
    __table_args__ = (UniqueConstraint("application_id", "kind", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # portrait | fingerprint
    position: Mapped[int] = mapped_column(SmallInteger)
    image: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed
    template: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    acceptable: Mapped[bool] = mapped_column(Boolean, default=False)
    exception_reason: Mapped[str | None] = mapped_column(String(32))


class SelfieHash(TimestampMixin, Base):
    """The perceptual hash (64-bit DCT hash) of every selfie sent in the app, never the image:
    a later registration that sends the same picture again, or one nearly pixel-identical, is
    refused (`registration.refuse_replayed_selfie`)."""

    __tablename__ = "selfie_hashes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    phash: Mapped[int] = mapped_column(BigInteger)


class ApplicationCorrection(TimestampMixin, Base):
    """One TK01 field an officer corrected, with its old and new value (sealed: they are
    personal data, which the audit log never holds; its event names the field)."""

    __tablename__ = "application_corrections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(64))
    officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officers.id"))
    change = Sealed[dict[str, Any]](JSON)  # {"old": ..., "new": ...}
    change_sealed: Mapped[bytes] = mapped_column(LargeBinary)
