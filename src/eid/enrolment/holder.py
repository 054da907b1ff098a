"""What a holder may read of their own applications: the status and the legal deadline.

Identity never imports enrolment; the web layer composes this with the holder's session
(`eid.web.holder_api`). An application is the holder's when it names the same person in the
immigration database (`registry_ref`) or the account's e-ID number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from eid.core import audit
from eid.core.audit import Actor
from eid.enrolment.models import Application


@dataclass(frozen=True)
class HolderApplication:
    id: uuid.UUID
    level: int
    status: str
    submitted_on: dt.date | None
    legal_deadline: dt.date | None
    decided_at: dt.datetime | None
    eid_number: str | None


def applications_of(
    session: Session, *, account_id: uuid.UUID, registry_ref: str, eid_number: str, actor: Actor
) -> list[HolderApplication]:
    """Newest first; the read is audited (it tells where and when the person applied)."""
    rows = session.execute(
        select(Application)
        .where(or_(Application.registry_ref == registry_ref, Application.eid_number == eid_number))
        .order_by(Application.created_at.desc(), Application.id)
    ).scalars()
    found = [
        HolderApplication(
            id=a.id,
            level=a.level,  # 2: TK01 at an office; 1: a registration in the app
            status=a.status,
            submitted_on=a.submitted_on,
            legal_deadline=a.legal_deadline,
            decided_at=a.decided_at,
            eid_number=a.eid_number,
        )
        for a in rows
    ]
    audit.record(
        session,
        actor,
        "holder.applications_read",
        "account",
        account_id,
        details={"applications": len(found)},
    )
    return found
