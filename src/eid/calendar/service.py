"""Working days and legal deadlines: weekends, the `holidays` package, then admin overrides.

The package already knows Tet, the other Labour Code holidays, compensatory days and the swaps it
has been told about (with the Saturdays worked in exchange). Overrides are the government's
announcements it does not know yet; they win over the package.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays
from sqlalchemy.orm import Session

from eid.calendar import repository
from eid.calendar.models import OVERRIDE_KINDS, CalendarOverride
from eid.calendar.seed import seed_overrides
from eid.core import audit
from eid.core.audit import Actor
from eid.core.errors import NotFound, ValidationFailed

# Decree 69/2024/ND-CP: 3 working days when face and fingerprints were already in the
# immigration database, else 7 (DESIGN.md §1).
WORKING_DAYS_BIOMETRICS_ON_FILE = 3
WORKING_DAYS_OTHERWISE = 7

__all__ = [
    "add_working_days",
    "is_working_day",
    "legal_deadline",
    "legal_working_days",
    "list_overrides",
    "remove_override",
    "seed_overrides",  # lives in seed.py; the CLI and first start import it from here
    "set_override",
    "working_days_between",
]


@dataclass(frozen=True)
class _PackageYear:
    days_off: frozenset[dt.date]
    weekend_workdays: frozenset[dt.date]


@lru_cache(maxsize=64)
def _package_year(year: int) -> _PackageYear:
    """The package's view of one year; it never changes within a process, so it is cached."""
    vn = holidays.country_holidays("VN", years=year)
    return _PackageYear(
        days_off=frozenset(vn.keys()),
        weekend_workdays=frozenset(getattr(vn, "weekend_workdays", ())),
    )


class _WorkingCalendar:
    """One call's view. Overrides are read from the database per call, not cached across calls:
    the server and the workers are separate processes, and an admin's edit must count at once
    in all of them. They are a handful of rows per year, loaded once per year touched."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._overrides: dict[int, dict[dt.date, str]] = {}

    def _override(self, day: dt.date) -> str | None:
        year = self._overrides.get(day.year)
        if year is None:
            year = repository.kinds_between(
                self._session, dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
            )
            self._overrides[day.year] = year
        return year.get(day)

    def is_working_day(self, day: dt.date) -> bool:
        kind = self._override(day)
        if kind is not None:
            return kind == "working_day"
        package = _package_year(day.year)
        if day in package.days_off:
            return False
        if day in package.weekend_workdays:
            return True
        return day.weekday() < 5


def is_working_day(session: Session, day: dt.date) -> bool:
    return _WorkingCalendar(session).is_working_day(day)


def add_working_days(session: Session, start: dt.date, n: int) -> dt.date:
    """The n-th working day after `start`; `start` itself never counts, whatever day it is."""
    if n < 0:
        raise ValidationFailed("n must not be negative", code="INVALID_WORKING_DAYS")
    calendar = _WorkingCalendar(session)
    day = start
    counted = 0
    while counted < n:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    return day


def working_days_between(session: Session, start: dt.date, end: dt.date) -> int:
    """Working days d with start < d <= end (negative when end is before start), so that
    `working_days_between(s, add_working_days(s, n)) == n`."""
    if end < start:
        return -working_days_between(session, end, start)
    calendar = _WorkingCalendar(session)
    return sum(
        calendar.is_working_day(start + dt.timedelta(days=i))
        for i in range(1, (end - start).days + 1)
    )


def legal_working_days(biometrics_on_file: bool) -> int:
    return WORKING_DAYS_BIOMETRICS_ON_FILE if biometrics_on_file else WORKING_DAYS_OTHERWISE


def legal_deadline(session: Session, submitted_on: dt.date, biometrics_on_file: bool) -> dt.date:
    return add_working_days(session, submitted_on, legal_working_days(biometrics_on_file))


# --- overrides, edited by an admin ---


def list_overrides(session: Session, year: int) -> list[CalendarOverride]:
    return repository.in_year(session, year)


def set_override(
    session: Session,
    day: dt.date,
    kind: str,
    name: str,
    actor: Actor,
    note: str | None = None,
) -> CalendarOverride:
    """Create or replace the override of one day."""
    if kind not in OVERRIDE_KINDS:
        raise ValidationFailed(
            "kind must be one of %(allowed)s",
            code="INVALID_OVERRIDE_KIND",
            details={"kind": kind, "allowed": list(OVERRIDE_KINDS)},
            params={"allowed": ", ".join(OVERRIDE_KINDS)},
        )
    if not name.strip():
        raise ValidationFailed("an override needs a name", code="OVERRIDE_NAME_REQUIRED")
    previous = repository.get_for_update(session, day)
    previous_kind = previous.kind if previous else None
    row = repository.upsert(
        session, day=day, kind=kind, name=name.strip(), note=note, created_by=actor.id
    )
    audit.record(
        session,
        actor,
        "calendar.override_set",
        "calendar_day",
        day.isoformat(),
        reason=note,
        details={"kind": kind, "name": row.name, "previous_kind": previous_kind},
    )
    return row


def remove_override(session: Session, day: dt.date, actor: Actor) -> None:
    previous = repository.get_for_update(session, day)
    if previous is None:
        raise NotFound(
            "no override for this day", code="OVERRIDE_NOT_FOUND", details={"day": day.isoformat()}
        )
    details = {"kind": previous.kind, "name": previous.name}
    repository.remove(session, day)
    audit.record(
        session,
        actor,
        "calendar.override_removed",
        "calendar_day",
        day.isoformat(),
        details=details,
    )
