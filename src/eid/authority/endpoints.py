"""The e-ID authority's officer API: a new activation code for an account awaiting activation,
and the locks other agencies ask for (recorded, decided by a second officer, lifted)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from eid.authority import agency_locks, service
from eid.authority.schemas import AgencyLockOut
from eid.core.audit import Actor
from eid.core.errors import NotFound
from eid.core.openapi_errors import declared
from eid.core.web import get_db
from eid.staff.dependencies import require_roles

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


class ActivationCodeSent(BaseModel):
    status: str = Field(
        default="sent",
        description="the new code is on its way to the holder's verified phone and email; the "
        "old one no longer works",
    )


@router.post("/{eid_number}/activation-code", status_code=202)
def reissue_activation_code(
    eid_number: str,
    actor: Actor = Depends(require_roles("supervisor", "admin")),
    db: Session = Depends(get_db, scope="function"),
) -> ActivationCodeSent:
    """Issue a new activation code (audited as `account.activation_code_renewed` by the
    officer). The code is never shown to the officer: it goes through the outbox to the phone
    (a minor's guardian's) and the email on file."""
    account = service.find_by_eid_number(db, eid_number)
    if account is None:
        raise NotFound("no such account", code="ACCOUNT_NOT_FOUND")
    service.send_new_activation_code(db, account.id, actor=actor)
    return ActivationCodeSent()


# --- locks asked by another agency (DESIGN.md §1) ---

lock_router = APIRouter(prefix="/api/v1/agency-locks", tags=["accounts"])
# The grounds another agency may ask (models.AGENCY_LOCK_GROUNDS, checked by a test).
LockGround = Literal["agency_request", "breach_of_terms"]


class AgencyLockIn(BaseModel):
    eid_number: str = Field(pattern=r"^\d{12}$")
    ground: LockGround = Field(description="the legal ground (DESIGN.md §1 lock grounds)")
    agency: str = Field(min_length=2, max_length=200, description="the agency that asks")
    reference: str = Field(
        min_length=1, max_length=100, description="the agency's document (decision number)"
    )
    note: str = Field(min_length=3, max_length=1000)


class AgencyLockDecisionIn(BaseModel):
    decision: Literal["approve", "refuse"]
    note: str = Field(min_length=3, max_length=1000)


class AgencyLockLiftIn(BaseModel):
    reference: str = Field(
        min_length=1, max_length=100, description="the agency's document lifting its ground"
    )
    note: str = Field(min_length=3, max_length=1000)


@lock_router.post("", status_code=201, responses=declared(404))
def request_agency_lock(
    body: AgencyLockIn,
    actor: Actor = Depends(require_roles("officer", "supervisor")),
    db: Session = Depends(get_db, scope="function"),
) -> AgencyLockOut:
    """Record another agency's lock request (the account stays as it is until a supervisor
    approves). Recording the same request again answers the open one."""
    return agency_locks.request_lock(
        db,
        eid_number=body.eid_number,
        ground=body.ground,
        agency=body.agency,
        reference=body.reference,
        note=body.note,
        actor=actor,
    )


@lock_router.get("")
def list_agency_locks(
    status: Literal["open", "closed"] = "open",
    actor: Actor = Depends(require_roles("officer", "supervisor", "admin")),
    db: Session = Depends(get_db, scope="function"),
) -> list[AgencyLockOut]:
    """The office's agency locks: `open` (requested or active) or `closed` (refused, lifted)."""
    wanted = ("requested", "active") if status == "open" else ("refused", "lifted")
    return agency_locks.office_locks(db, actor, statuses=wanted)


@lock_router.post("/{lock_id}/decision")
def decide_agency_lock(
    lock_id: uuid.UUID,
    body: AgencyLockDecisionIn,
    actor: Actor = Depends(require_roles("supervisor")),
    db: Session = Depends(get_db, scope="function"),
) -> AgencyLockOut:
    """A supervisor other than the recording officer approves (the account locks and the holder
    is told) or refuses."""
    return agency_locks.decide_lock(
        db, lock_id, decision=body.decision, note=body.note, actor=actor
    )


@lock_router.post("/{lock_id}/lifting")
def lift_agency_lock(
    lock_id: uuid.UUID,
    body: AgencyLockLiftIn,
    actor: Actor = Depends(require_roles("officer", "supervisor")),
    db: Session = Depends(get_db, scope="function"),
) -> AgencyLockOut:
    """The agency lifted its ground: the account unlocks once no ground is left."""
    return agency_locks.lift_lock(
        db, lock_id, reference=body.reference, note=body.note, actor=actor
    )


routers = [lock_router]
