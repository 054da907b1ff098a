"""Locks asked by another agency (DESIGN.md §1: "a lock asked by another agency needs approval").

An officer records the request with its legal ground, the agency and the agency's document; a
supervisor who is not that officer approves it (the account locks through the lock-ground set,
and the holder is told in their language) or refuses it; an officer records that the agency
lifted its ground, and the ground leaves the account when no other active agency lock holds it
(the account unlocks when its set of grounds is empty). Every step is audited.

Writes are idempotent: the same request recorded again is the open one; the same decision or
lift repeated answers the lock as it is; a contrary one is refused (409).
"""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eid.authority.models import AGENCY_LOCK_GROUNDS, Account, AgencyLock
from eid.authority.schemas import AgencyLockOut
from eid.authority.service import add_lock_ground, remove_lock_ground
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.errors import Conflict, Forbidden, NotFound, ValidationFailed


def _officer_id(actor: Actor) -> uuid.UUID:
    return uuid.UUID(actor.id)


def _view(lock: AgencyLock, account: Account) -> AgencyLockOut:
    return AgencyLockOut(
        id=lock.id,
        eid_number=account.eid_number,
        account_status=account.status,
        ground=lock.ground,
        agency=lock.agency,
        reference=lock.reference,
        status=lock.status,
        office_code=lock.office_code,
        requested_at=lock.created_at,
        requested_by=lock.requested_by,
        request_note=lock.request_note,
        decided_at=lock.decided_at,
        decided_by=lock.decided_by,
        decision_note=lock.decision_note,
        lifted_at=lock.lifted_at,
        lifted_by=lock.lifted_by,
        lift_reference=lock.lift_reference,
        lift_note=lock.lift_note,
    )


def request_lock(
    session: Session,
    *,
    eid_number: str,
    ground: str,
    agency: str,
    reference: str,
    note: str,
    actor: Actor,
) -> AgencyLockOut:
    """Record another agency's request; the account is not locked until a supervisor approves."""
    if ground not in AGENCY_LOCK_GROUNDS:
        raise ValidationFailed(
            "another agency may ask a lock only on the grounds %(allowed)s",
            code="INVALID_LOCK_GROUND",
            details={"ground": ground, "allowed": list(AGENCY_LOCK_GROUNDS)},
            params={"allowed": ", ".join(AGENCY_LOCK_GROUNDS)},
        )
    account = session.execute(
        select(Account).where(Account.eid_number == eid_number)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound("no such account", code="ACCOUNT_NOT_FOUND")
    if account.status == "closed":
        raise Conflict("the account is closed", code="ACCOUNT_CLOSED")
    agency, reference = agency.strip(), reference.strip()
    open_request = select(AgencyLock).where(
        AgencyLock.account_id == account.id,
        AgencyLock.ground == ground,
        AgencyLock.agency == agency,
        AgencyLock.reference == reference,
        AgencyLock.status.in_(("requested", "active")),
    )
    existing = session.execute(open_request).scalar_one_or_none()
    if existing is not None:
        return _view(existing, account)
    lock = AgencyLock(
        account_id=account.id,
        ground=ground,
        agency=agency,
        reference=reference,
        status="requested",
        office_code=actor.office or "",
        requested_by=_officer_id(actor),
        request_note=note,
        created_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(lock)
            session.flush()
    except IntegrityError:
        # The same request recorded at the same moment by another call: that one stands.
        existing = session.execute(open_request).scalar_one_or_none()
        if existing is None:
            raise
        return _view(existing, account)
    audit.record(
        session,
        actor,
        "agency_lock.requested",
        "account",
        account.id,
        reason=note,
        details={"lock": str(lock.id), "ground": ground, "agency": agency, "reference": reference},
    )
    return _view(lock, account)


def _lock_of_office(session: Session, lock_id: uuid.UUID, actor: Actor) -> AgencyLock:
    lock = session.execute(
        select(AgencyLock).where(AgencyLock.id == lock_id).with_for_update()
    ).scalar_one_or_none()
    if lock is None or (actor.role != "admin" and lock.office_code != actor.office):
        raise NotFound("no such agency lock at your office", code="AGENCY_LOCK_NOT_FOUND")
    return lock


def _account(session: Session, account_id: uuid.UUID) -> Account:
    return session.execute(select(Account).where(Account.id == account_id)).scalar_one()


def decide_lock(
    session: Session,
    lock_id: uuid.UUID,
    *,
    decision: Literal["approve", "refuse"],
    note: str,
    actor: Actor,
) -> AgencyLockOut:
    """Four eyes: the supervisor who decides is not the officer who recorded the request."""
    lock = _lock_of_office(session, lock_id, actor)
    wanted = "active" if decision == "approve" else "refused"
    if lock.status == wanted or (wanted == "active" and lock.status == "lifted"):
        return _view(lock, _account(session, lock.account_id))  # the same decision, repeated
    if lock.status != "requested":
        raise Conflict(
            "this agency lock was already decided",
            code="AGENCY_LOCK_DECIDED",
            details={"status": lock.status},
        )
    if lock.requested_by == _officer_id(actor):
        raise Forbidden(
            "another supervisor must decide a lock you recorded", code="FOUR_EYES_REQUIRED"
        )
    lock.status = wanted
    lock.decided_by = _officer_id(actor)
    lock.decided_at = clock.now()
    lock.decision_note = note
    audit.record(
        session,
        actor,
        f"agency_lock.{'approved' if wanted == 'active' else 'refused'}",
        "account",
        lock.account_id,
        reason=note,
        details={"lock": str(lock.id), "ground": lock.ground},
    )
    if wanted == "active":
        add_lock_ground(
            session,
            lock.account_id,
            lock.ground,
            actor=actor,
            reason=f"agency lock {lock.id}: {lock.agency} {lock.reference}",
        )
    session.flush()
    return _view(lock, _account(session, lock.account_id))


def lift_lock(
    session: Session, lock_id: uuid.UUID, *, reference: str, note: str, actor: Actor
) -> AgencyLockOut:
    """The agency lifted its ground (its document `reference`): the lock ends, and the ground
    leaves the account unless another active agency lock still holds it."""
    lock = _lock_of_office(session, lock_id, actor)
    if lock.status == "lifted":
        return _view(lock, _account(session, lock.account_id))
    if lock.status != "active":
        raise Conflict(
            "only an approved agency lock can be lifted",
            code="AGENCY_LOCK_NOT_ACTIVE",
            details={"status": lock.status},
        )
    lock.status = "lifted"
    lock.lifted_by = _officer_id(actor)
    lock.lifted_at = clock.now()
    lock.lift_reference = reference.strip()
    lock.lift_note = note
    session.flush()
    audit.record(
        session,
        actor,
        "agency_lock.lifted",
        "account",
        lock.account_id,
        reason=note,
        details={"lock": str(lock.id), "ground": lock.ground, "reference": lock.lift_reference},
    )
    still_held = session.execute(
        select(AgencyLock.id).where(
            AgencyLock.account_id == lock.account_id,
            AgencyLock.ground == lock.ground,
            AgencyLock.status == "active",
        )
    ).first()
    if still_held is None:
        remove_lock_ground(
            session,
            lock.account_id,
            lock.ground,
            actor=actor,
            reason=f"agency lock {lock.id} lifted: {lock.lift_reference}",
        )
    session.flush()
    return _view(lock, _account(session, lock.account_id))


def office_locks(
    session: Session, actor: Actor, *, statuses: tuple[str, ...] = ("requested", "active")
) -> list[AgencyLockOut]:
    """The agency locks of the officer's office (an admin: every office), newest first."""
    stmt = (
        select(AgencyLock, Account)
        .join(Account, Account.id == AgencyLock.account_id)
        .where(AgencyLock.status.in_(statuses))
        .order_by(AgencyLock.created_at.desc())
        .limit(500)
    )
    if actor.role != "admin":
        stmt = stmt.where(AgencyLock.office_code == actor.office)
    return [_view(lock, account) for lock, account in session.execute(stmt).all()]


def account_locks(session: Session, account_id: uuid.UUID) -> list[AgencyLockOut]:
    """Every agency lock of one account, newest first (for the person's profile)."""
    account = _account(session, account_id)
    rows = session.execute(
        select(AgencyLock)
        .where(AgencyLock.account_id == account_id)
        .order_by(AgencyLock.created_at.desc())
    ).scalars()
    return [_view(lock, account) for lock in rows]
