from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin

OVERRIDE_KINDS = ("day_off", "working_day")


class CalendarOverride(TimestampMixin, Base):
    """A day the government announced differently from the `holidays` package: an extra day off
    or a weekend day worked to make up for a swapped one. It wins over the package."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (CheckConstraint("kind IN ('day_off', 'working_day')", name="kind"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
