from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin
from eid.core.ids import new_id


class ApplicationCheck(TimestampMixin, Base):
    """One check's outcome in one verification run, kept for review and audit."""

    __tablename__ = "application_checks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    run: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(48))
    outcome: Mapped[str] = mapped_column(String(16))  # pass | fail | review | not_applicable
    reason: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Review(TimestampMixin, Base):
    """An application held for a supervisor: biometric doubt or a possible second identity."""

    __tablename__ = "reviews"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    # None: a registration made in the app, which any office's supervisor may decide.
    office_code: Mapped[str | None] = mapped_column(String(32), index=True)
    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(48)))
    candidate_application_id: Mapped[uuid.UUID | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    decision: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IdentityTemplate(TimestampMixin, Base):
    """Face and finger templates of every verified identity: the gallery of the 1:N search."""

    __tablename__ = "identity_templates"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    registry_ref: Mapped[str | None] = mapped_column(String(64))
    face: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed
    fingers: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed JSON {position: b64}
    active: Mapped[bool] = mapped_column(default=True)
