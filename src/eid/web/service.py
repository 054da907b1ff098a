"""Campaign figures: counts only, never personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.audit import Actor
from eid.core.jobs import queue_counts
from eid.enrolment.models import Application


def campaign_stats(session: Session, *, actor: Actor) -> dict[str, Any]:
    # Supervisors see their office; auditors and admins the whole campaign.
    in_scope = Application.office_code == actor.office if actor.role == "supervisor" else true()

    today = clock.today_vn()
    by_status = dict(
        session.execute(
            (select(Application.status, func.count()).group_by(Application.status)).where(in_scope)
        ).all()
    )
    by_office = [
        {"office": office, "applications": n, "issued": issued}
        for office, n, issued in session.execute(
            (
                select(
                    Application.office_code,
                    func.count(),
                    func.count().filter(Application.status == "issued"),
                ).group_by(Application.office_code)
            ).where(in_scope)
        ).all()
    ]
    overdue = session.execute(
        (
            select(func.count()).where(
                Application.status == "submitted", Application.legal_deadline < today
            )
        ).where(in_scope)
    ).scalar_one()
    submitted_today = session.execute(
        (select(func.count()).where(Application.submitted_on == today)).where(in_scope)
    ).scalar_one()
    seconds = session.execute(
        (
            select(
                func.avg(func.extract("epoch", Application.decided_at - Application.submitted_at))
            ).where(Application.status == "issued")
        ).where(in_scope)
    ).scalar_one()
    on_time = session.execute(
        (
            select(func.count()).where(
                Application.status == "issued",
                func.date(Application.decided_at) <= Application.legal_deadline,
            )
        ).where(in_scope)
    ).scalar_one()
    return {
        "as_of": clock.now().isoformat(),
        "scope": actor.office if actor.role == "supervisor" else "national",
        "by_status": {str(k): int(v) for k, v in by_status.items()},
        "by_office": by_office,
        "submitted_today": int(submitted_today),
        "overdue": int(overdue),
        "issued_on_time": int(on_time),
        "mean_hours_to_issue": round(float(seconds) / 3600, 2) if seconds is not None else None,
        "jobs": queue_counts(session),
    }
