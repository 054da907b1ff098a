"""Announced days the `holidays` package (0.109) does not know, loaded once and idempotently.

Checked against the package for 2025 and 2026: it already has Tet 2025 (27 Jan-1 Feb off), the
2025 swap of Fri 2 May with Sat 26 Apr, Tet 2026 (Mon 16-Fri 20 Feb, so with the weekends the
announced 14-22 Feb), Hung Kings 2026 observed on Mon 27 Apr, and the 2026 swap of Mon 31 Aug
with Sat 22 Aug. What it lacks is the New Year 2026 swap below. Add a row here only with its
official source in `note`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from eid.calendar import repository
from eid.core import audit
from eid.core.audit import Actor

_NEW_YEAR_2026 = (
    "Official Dispatch 12729/VPCP-KGVX of 25 Dec 2025 (Government Office): officials and public "
    "employees rest Thu 1 - Sun 4 Jan 2026; the working day Fri 2 Jan is swapped with Sat 10 Jan."
)

ANNOUNCED_OVERRIDES: tuple[tuple[dt.date, str, str, str], ...] = (
    (dt.date(2026, 1, 2), "day_off", "Tết Dương lịch 2026 (hoán đổi)", _NEW_YEAR_2026),
    (dt.date(2026, 1, 10), "working_day", "Làm bù cho ngày 02/01/2026", _NEW_YEAR_2026),
)

SEED_ACTOR = Actor.system("calendar-seed")


def seed_overrides(session: Session) -> list[dt.date]:
    """Insert the announced overrides that are missing; returns the days inserted.

    A day already present is left alone, so an admin's later correction survives a re-seed.
    """
    inserted = repository.insert_missing(
        session,
        (
            {"day": day, "kind": kind, "name": name, "note": note, "created_by": SEED_ACTOR.id}
            for day, kind, name, note in ANNOUNCED_OVERRIDES
        ),
    )
    for day in inserted:
        audit.record(
            session, SEED_ACTOR, "calendar.override_seeded", "calendar_day", day.isoformat()
        )
    return inserted
