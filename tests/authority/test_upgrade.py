"""Level 1 → Level 2: the e-ID authority decides it on the request, by the person's registry
reference; the same account, never a second one; audited; once, however often delivered."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority.models import Account, AccountRequest
from eid.authority.schemas import AccountRequestMessage
from eid.authority.service import held_level, receive_account_request, sign_request
from eid.core.audit import AuditEvent
from eid.core.jobs import Job
from eid.notify.models import Notification
from tests.authority.factories import account_request


def _decide(
    db: Session, level: int, ref: str, fingers: bytes | None = None
) -> tuple[AccountRequestMessage, AccountRequest]:
    message = account_request(registry_ref=ref, level=level)
    return message, receive_account_request(
        db, message, sign_request(message), portrait=None, fingerprint_templates=fingers
    )


def test_a_level_2_request_upgrades_the_level_1_account(db: Session) -> None:
    ref = "REF-UPGRADE-1"
    _, first = _decide(db, 1, ref)
    account = db.execute(select(Account).where(Account.registry_ref == ref)).scalar_one()
    number = account.eid_number
    assert (first.outcome, account.level, account.fingerprint_templates) == ("issued", 1, None)
    assert held_level(db, ref) == 1

    fingers = json.dumps({"2": "AAAA"}).encode()
    message, upgrade = _decide(db, 2, ref, fingers)
    assert upgrade.outcome == "upgraded" and upgrade.account_id == account.id
    db.refresh(account)
    assert (account.eid_number, account.level) == (number, 2)
    assert account.fingerprint_templates is not None
    assert db.execute(select(Account).where(Account.registry_ref == ref)).scalars().all() == [
        account
    ]
    # Delivered twice, decided once.
    again = receive_account_request(
        db, message, sign_request(message), portrait=None, fingerprint_templates=fingers
    )
    assert again.id == upgrade.id
    upgraded = (
        db.execute(
            select(AuditEvent).where(
                AuditEvent.action == "account.upgraded", AuditEvent.subject_id == str(account.id)
            )
        )
        .scalars()
        .all()
    )
    assert len(upgraded) == 1
    told = (
        db.execute(
            select(Notification).where(
                Notification.recipient_id == account.id, Notification.template == "account_upgraded"
            )
        )
        .scalars()
        .all()
    )
    assert {n.channel for n in told} == {"sms", "email", "app"}
    answer = [
        j.payload["message"]
        for j in db.execute(select(Job).where(Job.task == "enrolment.account_decision")).scalars()
        if j.payload["message"]["request_id"] == message.request_id
    ]
    assert [(a["outcome"], a["eid_number"]) for a in answer] == [("issued", number)]

    # A Level-2 holder's further request, at either level, is refused: ACCOUNT_EXISTS.
    for level in (2, 1):
        _, refused = _decide(db, level, ref)
        assert (refused.outcome, refused.refusal_code) == ("refused", "ACCOUNT_EXISTS")
    assert held_level(db, ref) == 2


def test_a_level_1_request_of_a_level_1_holder_is_refused(db: Session) -> None:
    _decide(db, 1, "REF-UPGRADE-2")
    _, refused = _decide(db, 1, "REF-UPGRADE-2")
    assert (refused.outcome, refused.refusal_code) == ("refused", "ACCOUNT_EXISTS")
