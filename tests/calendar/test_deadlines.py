"""Deadlines as an officer would count them on a paper calendar (Decree 69/2024: 3 or 7 working
days; the day of submission does not count)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.calendar import service
from eid.calendar.seed import seed_overrides
from eid.core.audit import Actor, AuditEvent
from eid.core.errors import NotFound, ValidationFailed

D = dt.date
ADMIN = Actor(kind="officer", id="admin-1", role="admin", office="HN01")


def test_tet_2026_with_biometrics_on_file(db: Session) -> None:
    # Fri 13 Feb submitted. Sat 14-Sun 15 weekend, Mon 16-Fri 20 Tet (the government's
    # 14-22 Feb break), Sat 21-Sun 22 weekend; Mon 23 = 1, Tue 24 = 2, Wed 25 = 3.
    assert service.legal_deadline(db, D(2026, 2, 13), biometrics_on_file=True) == D(2026, 2, 25)


def test_tet_2026_without_biometrics(db: Session) -> None:
    # Same break, then Mon 23 = 1, Tue 24 = 2, Wed 25 = 3, Thu 26 = 4, Fri 27 = 5,
    # (Sat 28 Feb, Sun 1 Mar weekend) Mon 2 Mar = 6, Tue 3 Mar = 7.
    assert service.legal_deadline(db, D(2026, 2, 13), biometrics_on_file=False) == D(2026, 3, 3)


def test_every_day_of_the_tet_break_is_off(db: Session) -> None:
    days = [D(2026, 2, 14) + dt.timedelta(days=i) for i in range(9)]
    assert [service.is_working_day(db, d) for d in days] == [False] * 9
    assert service.is_working_day(db, D(2026, 2, 13))
    assert service.is_working_day(db, D(2026, 2, 23))


def test_ordinary_week(db: Session) -> None:
    # Mon 9 Mar 2026: Tue 10 = 1, Wed 11 = 2, Thu 12 = 3.
    assert service.legal_deadline(db, D(2026, 3, 9), biometrics_on_file=True) == D(2026, 3, 12)
    # Tue 10 ... Fri 13 = 4, Mon 16 = 5, Tue 17 = 6, Wed 18 = 7.
    assert service.legal_deadline(db, D(2026, 3, 9), biometrics_on_file=False) == D(2026, 3, 18)
    # Fri 13 Mar: Mon 16 = 1, Tue 17 = 2, Wed 18 = 3.
    assert service.legal_deadline(db, D(2026, 3, 13), biometrics_on_file=True) == D(2026, 3, 18)


@pytest.mark.parametrize("submitted_on", [D(2026, 3, 7), D(2026, 3, 8)])
def test_weekend_submission_counts_from_monday(db: Session, submitted_on: dt.date) -> None:
    # Sat 7 or Sun 8 Mar: Mon 9 = 1, Tue 10 = 2, Wed 11 = 3.
    assert service.legal_deadline(db, submitted_on, biometrics_on_file=True) == D(2026, 3, 11)


def test_reunification_and_labour_day_2026(db: Session) -> None:
    # Wed 29 Apr: Thu 30 Apr and Fri 1 May off, weekend; Mon 4 = 1, Tue 5 = 2, Wed 6 = 3.
    assert service.legal_deadline(db, D(2026, 4, 29), biometrics_on_file=True) == D(2026, 5, 6)
    # Fri 24 Apr: Mon 27 off (Hung Kings, Sun 26 Apr, observed), Tue 28 = 1, Wed 29 = 2,
    # Thu 30 and Fri 1 off, Mon 4 May = 3.
    assert service.legal_deadline(db, D(2026, 4, 24), biometrics_on_file=True) == D(2026, 5, 4)


def test_national_day_2026_with_the_31_august_swap(db: Session) -> None:
    # Mon 31 Aug (swapped), Tue 1 and Wed 2 Sep off. Fri 28 Aug: Thu 3 = 1, Fri 4 = 2, Mon 7 = 3.
    assert service.legal_deadline(db, D(2026, 8, 28), biometrics_on_file=True) == D(2026, 9, 7)
    # Sat 22 Aug is worked in exchange. Fri 21 Aug: Sat 22 = 1, Mon 24 = 2, Tue 25 = 3.
    assert service.legal_deadline(db, D(2026, 8, 21), biometrics_on_file=True) == D(2026, 8, 25)
    assert service.is_working_day(db, D(2026, 8, 22))
    assert not service.is_working_day(db, D(2026, 8, 31))


def test_new_year_2026_swap_comes_from_the_seed(db: Session) -> None:
    # Without the seed only Thu 1 Jan is off: Wed 31 Dec: Fri 2 = 1, Mon 5 = 2, Tue 6 = 3.
    assert service.legal_deadline(db, D(2025, 12, 31), True) == D(2026, 1, 6)
    assert seed_overrides(db) == [D(2026, 1, 2), D(2026, 1, 10)]
    # Thu 1 and Fri 2 off, weekend; Mon 5 = 1, Tue 6 = 2, Wed 7 = 3.
    assert service.legal_deadline(db, D(2025, 12, 31), True) == D(2026, 1, 7)
    # Sat 10 Jan is worked in exchange. Fri 9 Jan: Sat 10 = 1, Mon 12 = 2, Tue 13 = 3.
    assert service.legal_deadline(db, D(2026, 1, 9), True) == D(2026, 1, 13)


def test_seed_is_idempotent_and_keeps_an_admins_correction(db: Session) -> None:
    seed_overrides(db)
    service.set_override(db, D(2026, 1, 10), "day_off", "corrected", ADMIN)
    assert seed_overrides(db) == []
    assert not service.is_working_day(db, D(2026, 1, 10))
    assert len(service.list_overrides(db, 2026)) == 2


def test_admin_override_moves_a_deadline_and_is_audited(db: Session) -> None:
    assert service.legal_deadline(db, D(2026, 3, 9), True) == D(2026, 3, 12)
    service.set_override(
        db, D(2026, 3, 10), "day_off", "Extra day off", ADMIN, note="test announcement"
    )
    # Tue 10 now off: Wed 11 = 1, Thu 12 = 2, Fri 13 = 3.
    assert service.legal_deadline(db, D(2026, 3, 9), True) == D(2026, 3, 13)
    service.set_override(db, D(2026, 3, 14), "working_day", "Make-up Saturday", ADMIN)
    # Sat 14 now worked. Thu 12: Fri 13 = 1, Sat 14 = 2, Mon 16 = 3 (else Tue 17).
    assert service.legal_deadline(db, D(2026, 3, 12), True) == D(2026, 3, 16)

    service.remove_override(db, D(2026, 3, 10), ADMIN)
    assert service.legal_deadline(db, D(2026, 3, 9), True) == D(2026, 3, 12)
    [row] = service.list_overrides(db, 2026)
    assert (row.day, row.kind, row.created_by) == (D(2026, 3, 14), "working_day", "admin-1")

    events = db.execute(
        select(AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.subject_type == "calendar_day", AuditEvent.subject_id == "2026-03-10")
        .order_by(AuditEvent.id)
    ).all()
    assert [action for action, _ in events] == [
        "calendar.override_set",
        "calendar.override_removed",
    ]


def test_replacing_an_override_records_the_previous_kind(db: Session) -> None:
    service.set_override(db, D(2026, 6, 1), "day_off", "first", ADMIN)
    row = service.set_override(db, D(2026, 6, 1), "working_day", "second", ADMIN)
    assert (row.kind, row.name) == ("working_day", "second")
    details = db.execute(
        select(AuditEvent.details)
        .where(AuditEvent.subject_id == "2026-06-01")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).scalar_one()
    assert details["previous_kind"] == "day_off"


def test_override_errors(db: Session) -> None:
    with pytest.raises(ValidationFailed) as bad_kind:
        service.set_override(db, D(2026, 6, 1), "half_day", "x", ADMIN)
    assert bad_kind.value.code == "INVALID_OVERRIDE_KIND"
    with pytest.raises(NotFound) as missing:
        service.remove_override(db, D(2026, 6, 2), ADMIN)
    assert missing.value.code == "OVERRIDE_NOT_FOUND"
    with pytest.raises(ValidationFailed):
        service.add_working_days(db, D(2026, 6, 1), -1)


def test_working_days_between_is_the_inverse_of_adding(db: Session) -> None:
    start = D(2026, 2, 13)
    for n in (0, 1, 3, 7, 20):
        end = service.add_working_days(db, start, n)
        assert service.working_days_between(db, start, end) == n
    assert service.working_days_between(db, D(2026, 3, 3), D(2026, 2, 13)) == -7
