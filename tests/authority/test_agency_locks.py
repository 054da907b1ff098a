"""Locks asked by another agency: recorded by an officer, decided by a second officer, lifted;
the account locks and unlocks through its set of grounds, the holder is told in their language,
and every step is in the audit log."""

from __future__ import annotations

import threading
import time
import typing
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eid.authority import agency_locks
from eid.authority.endpoints import LockGround
from eid.authority.models import AGENCY_LOCK_GROUNDS, Account
from eid.authority.service import add_lock_ground, get_account
from eid.core.audit import Actor, AuditEvent
from eid.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from eid.notify.models import Notification
from tests.authority.test_locks import _active_account


def _officer(role: str, office: str = "HN-01") -> Actor:
    return Actor(kind="officer", id=str(uuid.uuid4()), role=role, office=office)


def _request(db: Session, account: Account, officer: Actor, **changes: str) -> uuid.UUID:
    fields = {
        "ground": "agency_request",
        "agency": "Ha Noi police, economic crimes",
        "reference": "123/QD-CSKT",
        "note": "decision received by post",
    } | changes
    return agency_locks.request_lock(db, eid_number=account.eid_number, actor=officer, **fields).id


def _notices(db: Session, account: Account, template: str) -> list[Notification]:
    return list(
        db.execute(
            select(Notification).where(
                Notification.recipient_id == account.id, Notification.template == template
            )
        ).scalars()
    )


def test_the_api_offers_exactly_the_agency_grounds() -> None:
    assert typing.get_args(LockGround) == AGENCY_LOCK_GROUNDS


def test_a_lock_requested_approved_by_another_officer_and_lifted(db: Session) -> None:
    account = _active_account(db)
    officer, supervisor = _officer("officer"), _officer("supervisor")
    lock_id = _request(db, account, officer)
    assert get_account(db, account.id).status == "active"  # nothing happens before approval
    # Recorded twice (a retry): the same request.
    assert _request(db, account, officer) == lock_id

    approved = agency_locks.decide_lock(
        db, lock_id, decision="approve", note="decision checked", actor=supervisor
    )
    assert approved.status == "active" and approved.account_status == "locked"
    assert get_account(db, account.id).lock_grounds == ["agency_request"]
    locked = _notices(db, account, "account_locked")
    assert locked and {n.language for n in locked} == {"ko"}  # the holder's language
    # The same decision again changes nothing; the contrary one is refused.
    again = agency_locks.decide_lock(
        db, lock_id, decision="approve", note="again", actor=supervisor
    )
    assert again.status == "active"
    with pytest.raises(Conflict):
        agency_locks.decide_lock(db, lock_id, decision="refuse", note="no", actor=supervisor)

    lifted = agency_locks.lift_lock(
        db, lock_id, reference="124/QD-CSKT", note="ground lifted", actor=officer
    )
    assert lifted.status == "lifted" and lifted.account_status == "active"
    assert get_account(db, account.id).lock_grounds == []
    assert _notices(db, account, "account_unlocked")
    actions = [
        e.action
        for e in db.execute(
            select(AuditEvent)
            .where(AuditEvent.subject_id == str(account.id))
            .order_by(AuditEvent.id)
        ).scalars()
        if e.action.startswith("agency_lock.")
    ]
    assert actions == ["agency_lock.requested", "agency_lock.approved", "agency_lock.lifted"]


def test_the_officer_who_recorded_a_request_cannot_approve_it(db: Session) -> None:
    account = _active_account(db)
    supervisor = _officer("supervisor")
    lock_id = _request(db, account, supervisor)
    with pytest.raises(Forbidden) as refused:
        agency_locks.decide_lock(db, lock_id, decision="approve", note="mine", actor=supervisor)
    assert refused.value.code == "FOUR_EYES_REQUIRED"
    assert get_account(db, account.id).status == "active"


def test_a_refused_request_never_locks_and_cannot_be_lifted(db: Session) -> None:
    account = _active_account(db)
    lock_id = _request(db, account, _officer("officer"))
    refused = agency_locks.decide_lock(
        db, lock_id, decision="refuse", note="no legal basis", actor=_officer("supervisor")
    )
    assert refused.status == "refused" and get_account(db, account.id).status == "active"
    with pytest.raises(Conflict):
        agency_locks.lift_lock(db, lock_id, reference="x", note="lift", actor=_officer("officer"))


def test_the_ground_stays_while_another_agency_lock_or_ground_holds(db: Session) -> None:
    account = _active_account(db)
    officer, supervisor = _officer("officer"), _officer("supervisor")
    first = _request(db, account, officer)
    second = _request(db, account, officer, agency="Tax department", reference="9/TB")
    for lock_id in (first, second):
        agency_locks.decide_lock(db, lock_id, decision="approve", note="ok", actor=supervisor)
    add_lock_ground(db, account.id, "holder_request", actor=Actor.system("tests"))
    agency_locks.lift_lock(db, first, reference="1", note="lifted", actor=officer)
    assert get_account(db, account.id).lock_grounds == ["agency_request", "holder_request"]
    agency_locks.lift_lock(db, second, reference="2", note="lifted", actor=officer)
    view = get_account(db, account.id)
    assert view.lock_grounds == ["holder_request"] and view.status == "locked"


def test_only_agency_grounds_and_only_the_offices_own_locks(db: Session) -> None:
    account = _active_account(db)
    with pytest.raises(ValidationFailed):
        _request(db, account, _officer("officer"), ground="deceased")
    lock_id = _request(db, account, _officer("officer"))
    with pytest.raises(NotFound):
        agency_locks.decide_lock(
            db, lock_id, decision="approve", note="ok", actor=_officer("supervisor", "HCM-01")
        )
    assert [lock.id for lock in agency_locks.office_locks(db, _officer("officer"))] == [lock_id]
    assert agency_locks.office_locks(db, _officer("officer", "HCM-01")) == []


def test_the_same_request_recorded_at_once_by_two_calls_is_one_request(committed: Engine) -> None:
    with Session(committed) as setup, setup.begin():
        account = _active_account(setup)
        eid_number = account.eid_number
    officer = _officer("officer")
    first = Session(committed)
    mine = _request_by_number(first, eid_number, officer)  # flushed, not yet committed
    answers: list[uuid.UUID] = []

    def second_call() -> None:
        with Session(committed) as other, other.begin():
            answers.append(_request_by_number(other, eid_number, officer))

    racing = threading.Thread(target=second_call)
    racing.start()
    time.sleep(0.5)  # the second insert now waits on the unique index
    first.commit()
    first.close()
    racing.join(timeout=30)
    assert answers == [mine]


def _request_by_number(db: Session, eid_number: str, officer: Actor) -> uuid.UUID:
    return agency_locks.request_lock(
        db,
        eid_number=eid_number,
        ground="agency_request",
        agency="Ha Noi police",
        reference="7/QD",
        note="at once",
        actor=officer,
    ).id
