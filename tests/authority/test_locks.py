from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority.lifecycle import follow_registry, watch_expiry
from eid.authority.models import Account
from eid.authority.service import (
    activate,
    add_lock_ground,
    get_account,
    new_activation_code,
    receive_account_request,
    remove_lock_ground,
    sign_request,
)
from eid.core import clock
from eid.core.audit import Actor
from eid.registry.schemas import EventIn, PersonIn
from eid.registry.service import ReferenceRegistry, add_person, record_event
from tests.authority.factories import account_request

HOLDER = Actor(kind="holder", id="h", role="holder")
SYSTEM = Actor.system("tests")


def _active_account(db: Session, **changes: object) -> Account:
    message = account_request(**changes)
    receive_account_request(db, message, sign_request(message), portrait=None)
    account = db.execute(
        select(Account).where(Account.registry_ref == message.registry_ref)
    ).scalar_one()
    activate(db, account.eid_number, new_activation_code(db, account.id, actor=SYSTEM))
    return account


def test_lock_grounds_are_a_set_and_unlock_only_when_empty(db: Session) -> None:
    account = _active_account(db)
    add_lock_ground(db, account.id, "holder_request", actor=HOLDER)
    add_lock_ground(db, account.id, "residence_card_expired", actor=SYSTEM)
    add_lock_ground(db, account.id, "holder_request", actor=HOLDER)
    view = get_account(db, account.id)
    assert view.status == "locked" and view.lock_grounds == [
        "holder_request",
        "residence_card_expired",
    ]
    assert not view.usable
    remove_lock_ground(db, account.id, "holder_request", actor=HOLDER)
    assert get_account(db, account.id).status == "locked"
    remove_lock_ground(db, account.id, "residence_card_expired", actor=SYSTEM)
    assert get_account(db, account.id).status == "active"


def test_registry_feed_locks_on_expiry_and_unlocks_on_renewal(db: Session) -> None:
    today = clock.today_vn()
    person = PersonIn.model_validate(
        {
            "full_name": "TANAKA YUKI",
            "date_of_birth": "1988-02-02",
            "sex": "F",
            "nationality": "JPN",
            "passport": {
                "number": "TK1234567",
                "type": "P",
                "issuing_state": "JPN",
                "issue_date": "2020-01-01",
                "expiry_date": "2030-01-01",
            },
            "residence_card": {
                "number": "TT7654321",
                "kind": "TRC",
                "expiry_date": (today + dt.timedelta(days=10)).isoformat(),
            },
        }
    )
    ref = add_person(db, person, actor=SYSTEM)
    account = _active_account(db, registry_ref=str(ref))
    follow_registry(db, ReferenceRegistry(db))  # catch up with older events
    record_event(db, EventIn(passport_number="TK1234567", kind="card_expired"), actor=SYSTEM)
    follow_registry(db, ReferenceRegistry(db))
    assert get_account(db, account.id).lock_grounds == ["residence_card_expired"]
    renewed = today + dt.timedelta(days=730)
    record_event(
        db,
        EventIn(passport_number="TK1234567", kind="card_renewed", new_expiry_date=renewed),
        actor=SYSTEM,
    )
    follow_registry(db, ReferenceRegistry(db))
    view = get_account(db, account.id)
    assert view.status == "active" and view.lock_grounds == []
    assert view.residence_card["expiry_date"] == renewed.isoformat()


def test_expiry_watcher_warns_30_days_ahead_once_and_locks_on_the_day(db: Session) -> None:
    today = clock.today_vn()
    account = _active_account(
        db,
        residence_card={
            "number": "TT1112223",
            "kind": "TRC",
            "expiry_date": (today + dt.timedelta(days=20)).isoformat(),
        },
    )
    assert watch_expiry(db)["warned"] >= 1
    assert watch_expiry(db)["warned"] == 0
    clock.shift(dt.timedelta(days=21))
    watch_expiry(db)
    assert "residence_card_expired" in get_account(db, account.id).lock_grounds
