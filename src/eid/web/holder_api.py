"""Holder API answers that compose two domains: identity knows the holder, enrolment the
applications, and identity may not import enrolment (DESIGN.md §2). Routes: `web.endpoints`."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel
from sqlalchemy.orm import Session

from eid.enrolment import holder as enrolment_holder
from eid.identity.dependencies import Holder
from eid.identity.service import holder_actor


class HolderApplicationOut(BaseModel):
    id: uuid.UUID
    level: int
    status: str
    submitted_on: dt.date | None
    legal_deadline: dt.date | None  # the date the law sets for the decision, once submitted
    decided_at: dt.datetime | None
    eid_number: str | None


def my_applications(db: Session, who: Holder) -> list[HolderApplicationOut]:
    """The applications of the account's person, newest first, with status and deadline."""
    account = who.account
    return [
        HolderApplicationOut.model_validate(a, from_attributes=True)
        for a in enrolment_holder.applications_of(
            db,
            account_id=account.id,
            registry_ref=account.registry_ref,
            eid_number=account.eid_number,
            actor=holder_actor(account.id),
        )
    ]
