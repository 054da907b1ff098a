"""Campaign figures: counts only, never personal data."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from eid.authority.models import Account
from eid.core import audit, clock
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


# --- the dashboard's charts: per day and office, over a chosen period ---

# Processing time (submission to decision) in hours: the histogram's upper bounds.
PROCESSING_BUCKETS = (24, 48, 72, 120, 168)


@dataclass(frozen=True)
class CampaignFilter:
    office: str | None
    first_day: dt.date
    last_day: dt.date


def campaign_filter(
    actor: Actor, *, office: str | None, first_day: dt.date | None, last_day: dt.date | None
) -> CampaignFilter:
    """Supervisors see their own office whatever they ask; auditors and admins any office or
    the whole campaign. The period defaults to the last 14 days and is at most a year."""
    last = last_day or clock.today_vn()
    first = first_day or last - dt.timedelta(days=13)
    if first > last:
        first, last = last, first
    first = max(first, last - dt.timedelta(days=366))
    chosen = actor.office if actor.role == "supervisor" else (office or None)
    return CampaignFilter(office=chosen, first_day=first, last_day=last)


def _vn_day(column: Any) -> Any:
    return func.date(func.timezone("Asia/Ho_Chi_Minh", column))


def campaign_series(session: Session, chosen: CampaignFilter) -> dict[str, Any]:
    """Counts only, never personal data: per day and office, submitted, issued, activated and
    refused; refusals by reason; deadline compliance; processing-time distribution."""
    in_office = Application.office_code == chosen.office if chosen.office else true()
    first, last = chosen.first_day, chosen.last_day
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    per_day: dict[tuple[str, str], dict[str, int]] = {}

    def count(kind: str, day_column: Any, *conditions: Any) -> None:
        day = day_column.label("day")
        rows = session.execute(
            select(day, Application.office_code, func.count())
            .where(in_office, day >= first, day <= last, *conditions)
            .group_by(day, Application.office_code)
        ).all()
        for when, office, n in rows:
            slot = per_day.setdefault((when.isoformat(), office or "app"), {})
            slot[kind] = int(n)

    count("submitted", Application.submitted_on)
    decided = _vn_day(Application.decided_at)
    count("issued", decided, Application.status == "issued")
    count("refused", decided, Application.status == "rejected")
    activated = _vn_day(Account.activated_at)
    rows = session.execute(
        select(activated.label("day"), Application.office_code, func.count())
        .join(Account, Account.eid_number == Application.eid_number)
        .where(in_office, Application.status == "issued", activated >= first, activated <= last)
        .group_by(activated, Application.office_code)
    ).all()
    for when, office, n in rows:
        per_day.setdefault((when.isoformat(), office or "app"), {})["activated"] = int(n)

    in_period = and_(decided >= first, decided <= last)
    refused_by_reason = {
        str(code or "UNKNOWN"): int(n)
        for code, n in session.execute(
            select(Application.rejection_code, func.count())
            .where(in_office, Application.status == "rejected", in_period)
            .group_by(Application.rejection_code)
        ).all()
    }
    on_time, late = session.execute(
        select(
            func.count().filter(decided <= Application.legal_deadline),
            func.count().filter(decided > Application.legal_deadline),
        ).where(
            in_office,
            Application.status.in_(("issued", "rejected")),
            in_period,
            Application.legal_deadline.is_not(None),
        )
    ).one()
    overdue = session.execute(
        select(func.count()).where(
            in_office,
            Application.status == "submitted",
            Application.legal_deadline < clock.today_vn(),
        )
    ).scalar_one()
    in_review = session.execute(
        select(func.count()).where(in_office, Application.status == "in_review")
    ).scalar_one()
    hours = func.extract("epoch", Application.decided_at - Application.submitted_at) / 3600
    buckets = [0] * (len(PROCESSING_BUCKETS) + 1)
    for (h,) in session.execute(
        select(hours).where(
            in_office,
            Application.status == "issued",
            in_period,
            Application.submitted_at.is_not(None),
        )
    ).all():
        index = next(
            (i for i, b in enumerate(PROCESSING_BUCKETS) if float(h) <= b), len(buckets) - 1
        )
        buckets[index] += 1
    return {
        "as_of": clock.now().isoformat(),
        "office": chosen.office,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "days": [d.isoformat() for d in days],
        "per_day": [
            {
                "day": day,
                "office": office,
                **{k: v.get(k, 0) for k in ("submitted", "issued", "activated", "refused")},
            }
            for (day, office), v in sorted(per_day.items())
        ],
        "in_review": int(in_review),
        "refused_by_reason": refused_by_reason,
        "deadline": {"on_time": int(on_time), "late": int(late), "overdue_open": int(overdue)},
        "processing_hours": {"bounds": list(PROCESSING_BUCKETS), "counts": buckets},
    }


CSV_COLUMNS = ("day", "office", "submitted", "issued", "activated", "refused")


def campaign_csv(session: Session, chosen: CampaignFilter, *, actor: Actor) -> str:
    """The per-day, per-office counts as CSV; the export is audited (who took what)."""
    series = campaign_series(session, chosen)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in series["per_day"]:
        writer.writerow([row[c] for c in CSV_COLUMNS])
    audit.record(
        session,
        actor,
        "campaign.exported",
        "campaign",
        chosen.office or "national",
        details={
            "first_day": series["first_day"],
            "last_day": series["last_day"],
            "rows": len(series["per_day"]),
        },
    )
    return out.getvalue()
