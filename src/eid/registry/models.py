"""Tables of the *reference* registry. The real one belongs to another agency."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    LargeBinary,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin
from eid.core.ids import new_id
from eid.core.sealed import (
    DATE,
    INDEX_LENGTH,
    JSON,
    TEXT,
    Sealed,
    normalise_document,
    normalise_name,
)


class RegistryPerson(TimestampMixin, Base):
    __tablename__ = "registry_persons"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Personal data: sealed (eid.core.sealed); look-ups go through the blind indexes.
    full_name = Sealed[str](TEXT, index="full_name_key", normalise=normalise_name)
    full_name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    full_name_key: Mapped[str] = mapped_column(String(INDEX_LENGTH), index=True)
    date_of_birth = Sealed[date](DATE)
    date_of_birth_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sex: Mapped[str] = mapped_column(String(1))
    nationality: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="resident")  # resident|exited|deceased
    passport_number = Sealed[str](TEXT, index="passport_number_key", normalise=normalise_document)
    passport_number_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    passport_number_key: Mapped[str] = mapped_column(String(INDEX_LENGTH), unique=True)
    passport_type: Mapped[str] = mapped_column(String(2))
    passport_issuing_state: Mapped[str] = mapped_column(String(3))
    passport_issue_date: Mapped[date] = mapped_column(Date)
    passport_expiry_date: Mapped[date] = mapped_column(Date)
    card_number = Sealed[str](TEXT, index="card_number_key", normalise=normalise_document)
    card_number_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    card_number_key: Mapped[str] = mapped_column(String(INDEX_LENGTH), unique=True)
    card_kind: Mapped[str] = mapped_column(String(3))
    card_expiry_date: Mapped[date] = mapped_column(Date)
    # Other documents on the person's record ({"driving_licence": number, ...}): the reference
    # registry's stand-in for what the issuing agencies know. Declared values are checked
    # against it during verification.
    documents = Sealed[dict[str, Any] | None](JSON)
    documents_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    portrait: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed image


class RegistryFingerprint(Base):
    __tablename__ = "registry_fingerprints"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    image: Mapped[bytes] = mapped_column(LargeBinary)  # sealed image


class RegistryEvent(Base):
    """The feed of status changes other systems follow (cursor = id)."""

    __tablename__ = "registry_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("registry_persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
