from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin
from eid.core.ids import new_id
from eid.core.sealed import DATE, INDEX_LENGTH, JSON, TEXT, Sealed, normalise_name

ACCOUNT_STATUSES = ("pending_activation", "active", "locked", "closed")
LOCK_GROUNDS = (
    "holder_request",
    "breach_of_terms",
    "passport_expired",
    "residence_card_expired",
    "exited",
    "deceased",
    "agency_request",
)
# The grounds another agency may ask a lock on (DESIGN.md §1: "a lock asked by another agency
# needs approval"). The others have their own source, which also lifts them: the holder
# (holder_request) and the immigration database's feed and expiry watch (documents expired,
# exit, death); an agency lock lifted must not take away a ground that source still holds.
AGENCY_LOCK_GROUNDS = ("agency_request", "breach_of_terms")
AGENCY_LOCK_STATUSES = ("requested", "refused", "active", "lifted")


class AccountRequest(TimestampMixin, Base):
    """Every request received from the immigration authority, kept with its decision."""

    __tablename__ = "account_requests"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    application_id: Mapped[str] = mapped_column(String(64), index=True)
    signature: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # issued | upgraded | refused
    refusal_code: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[uuid.UUID | None] = mapped_column()


class Account(TimestampMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        # One living account per person in the immigration database.
        Index(
            "uq_accounts_registry_ref_open",
            "registry_ref",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    eid_number: Mapped[str] = mapped_column(String(12), unique=True)
    registry_ref: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(SmallInteger, default=2)
    status: Mapped[str] = mapped_column(String(24), default="pending_activation")
    lock_grounds: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    # Personal data: sealed (eid.core.sealed). The expiry dates below stay plain: the expiry
    # watch queries them, and alone they identify no one.
    full_name = Sealed[str](TEXT, index="full_name_key", normalise=normalise_name)
    full_name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Blind index of the name: a supervisor's search by name (eid.web.profiles) finds the
    # account without unsealing every name.
    full_name_key: Mapped[str] = mapped_column(String(INDEX_LENGTH), index=True)
    date_of_birth = Sealed[dt.date](DATE)
    date_of_birth_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sex: Mapped[str] = mapped_column(String(1))
    nationality: Mapped[str] = mapped_column(String(3))
    passport = Sealed[dict[str, Any]](JSON)
    passport_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    residence_card = Sealed[dict[str, Any]](JSON)
    residence_card_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    passport_expiry_date: Mapped[dt.date] = mapped_column(Date, index=True)
    card_expiry_date: Mapped[dt.date] = mapped_column(Date, index=True)
    phone = Sealed[str](TEXT)
    phone_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    email = Sealed[str | None](TEXT)
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Sealed biometrics are deferred: the frequent reads (logins, tokens, status lists) never
    # fetch them; account_portrait() asks for the portrait explicitly.
    portrait: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # sealed
    fingerprint_templates: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    guardian = Sealed[dict[str, Any] | None](JSON)
    guardian_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The documents declared in TK01 `integrations`, each with its verification state
    # (`schemas.HolderDocument`): {"items": [...]}.
    documents = Sealed[dict[str, Any] | None](JSON)
    documents_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    activation_code_hash: Mapped[str | None] = mapped_column(String(200))
    activation_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    activation_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Wrong codes back off (`core.throttle.lockout_wait`) and the wait expires: never for good.
    activation_locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    activated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expiry_warned_for: Mapped[dt.date | None] = mapped_column(Date)


class AgencyLock(TimestampMixin, Base):
    """A lock another agency asked for: recorded by an officer, approved or refused by a
    supervisor who is not that officer, and lifted when the agency lifts its ground.

    While `active`, the account holds `ground` in its lock grounds; the ground goes when the
    last active agency lock holding it is lifted."""

    __tablename__ = "agency_locks"
    __table_args__ = (
        # The same request recorded twice (a retry, a second officer) is the same request.
        Index(
            "uq_agency_locks_open_request",
            "account_id",
            "ground",
            "agency",
            "reference",
            unique=True,
            postgresql_where=text("status IN ('requested', 'active')"),
        ),
        CheckConstraint("ground IN ('agency_request', 'breach_of_terms')", name="ground"),
        CheckConstraint("status IN ('requested', 'refused', 'active', 'lifted')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    ground: Mapped[str] = mapped_column(String(32))
    # The requesting agency and its document (decision number): not personal data.
    agency: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    # The officers by id and office by code, without foreign keys into the immigration
    # authority's staff tables: the e-ID authority is another agency (DESIGN.md §1).
    office_code: Mapped[str] = mapped_column(String(32), index=True)
    requested_by: Mapped[uuid.UUID] = mapped_column()
    request_note: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    lifted_by: Mapped[uuid.UUID | None] = mapped_column()
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lift_reference: Mapped[str | None] = mapped_column(String(100))
    lift_note: Mapped[str | None] = mapped_column(Text)


class RegistryFeedCursor(Base):
    """How far the authority has read the immigration database's status feed."""

    __tablename__ = "registry_feed_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
