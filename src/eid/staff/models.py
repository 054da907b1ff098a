from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin
from eid.core.ids import new_id

ROLES = ("officer", "supervisor", "auditor", "admin")


class Office(TimestampMixin, Base):
    __tablename__ = "offices"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(100))


class Officer(TimestampMixin, Base):
    __tablename__ = "officers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[bytes] = mapped_column(LargeBinary)  # sealed with the data key
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_totp_step: Mapped[int] = mapped_column(Integer, default=0)


class OfficerSession(TimestampMixin, Base):
    __tablename__ = "officer_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officers.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The idle timeout counts from here; refreshed by use, at most once a minute (TOUCH_EVERY).
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # Set by sign-out: the token is refused from then on.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
