"""Every query on calendar_overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from eid.calendar.models import CalendarOverride


def kinds_between(session: Session, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    rows = session.execute(
        select(CalendarOverride.day, CalendarOverride.kind).where(
            CalendarOverride.day.between(first, last)
        )
    ).all()
    return {day: kind for day, kind in rows}


def in_year(session: Session, year: int) -> list[CalendarOverride]:
    return list(
        session.execute(
            select(CalendarOverride)
            .where(CalendarOverride.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
            .order_by(CalendarOverride.day)
        )
        .scalars()
        .all()
    )


def get_for_update(session: Session, day: dt.date) -> CalendarOverride | None:
    return session.execute(
        select(CalendarOverride).where(CalendarOverride.day == day).with_for_update()
    ).scalar_one_or_none()


def upsert(
    session: Session, *, day: dt.date, kind: str, name: str, note: str | None, created_by: str
) -> CalendarOverride:
    values = {"day": day, "kind": kind, "name": name, "note": note, "created_by": created_by}
    stmt = insert(CalendarOverride).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day"],
        set_={**{k: v for k, v in values.items() if k != "day"}, "created_at": func.now()},
    )
    session.execute(stmt)
    row = session.execute(
        select(CalendarOverride)
        .where(CalendarOverride.day == day)
        .execution_options(populate_existing=True)
    ).scalar_one()
    return row


def insert_missing(session: Session, rows: Iterable[dict[str, object]]) -> list[dt.date]:
    """Insert rows whose day has no override yet; an admin's edit of a seeded day is kept."""
    values = list(rows)
    if not values:
        return []
    stmt = (
        insert(CalendarOverride)
        .values(values)
        .on_conflict_do_nothing(index_elements=["day"])
        .returning(CalendarOverride.day)
    )
    return sorted(session.execute(stmt).scalars().all())


def remove(session: Session, day: dt.date) -> None:
    session.execute(delete(CalendarOverride).where(CalendarOverride.day == day))
