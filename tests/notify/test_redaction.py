"""Activation codes and one-time codes leave the app inbox once used, superseded or expired:
the masked text overwrites the sealed body. SMS and email copies stay as sent."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import clock
from eid.core.audit import Actor
from eid.notify import service
from eid.notify.models import Notification
from eid.notify.templates import MASK
from tests.authority.factories import account_request

CODE = "04711234"
PARAMS = {"full_name": "KIM MIN-JUN", "eid_number": "123456789012", "activation_code": CODE}
CHANNELS = {"email": "kim@example.com", "sms": "+84912345678", "app": None}


def _issue(db: Session, account: uuid.UUID, **overrides: object) -> list[uuid.UUID]:
    arguments: dict[str, object] = {
        "recipient_type": "account",
        "recipient_id": account,
        "channels": CHANNELS,
        "language": "en",
        "template": "account_issued",
        "params": PARAMS,
        "key": f"account-issued:{account}",
    }
    arguments.update(overrides)
    return service.notify(db, **arguments)  # type: ignore[arg-type]


def _rows(db: Session, account: uuid.UUID) -> dict[str, Notification]:
    db.expire_all()
    rows = db.execute(select(Notification).where(Notification.recipient_id == account)).scalars()
    return {n.channel: n for n in rows}


def test_a_used_code_is_overwritten_in_the_inbox_only(db: Session) -> None:
    account = uuid.uuid4()
    _issue(db, account)
    [before] = service.inbox(db, "account", account)
    assert CODE in before.body and not before.redacted
    assert before.link == "/app/activate"
    sealed_before = _rows(db, account)["app"].body

    changed = service.redact_secrets(db, "account", account, carrying="activation_code")

    assert changed == 1
    [after] = service.inbox(db, "account", account)
    assert after.redacted and CODE not in after.body and MASK in after.body
    assert "123456789012" in after.body  # the rest of the message stays readable
    rows = _rows(db, account)
    app = rows["app"]
    assert app.body != sealed_before and app.masked_body is None and app.redacted_at
    assert CODE not in service.message_text(app)  # the ciphertext itself was replaced
    for channel in ("sms", "email"):  # those texts left the system: kept as sent
        assert CODE in service.message_text(rows[channel])
        assert rows[channel].redacted_at is None
    assert service.redact_secrets(db, "account", account, carrying="activation_code") == 0


def test_a_message_without_a_secret_is_left_alone(db: Session) -> None:
    account = uuid.uuid4()
    _issue(
        db,
        account,
        template="account_unlocked",
        params={"eid_number": "123456789012"},
        key=f"unlocked:{account}",
    )
    assert _rows(db, account)["app"].masked_body is None
    assert service.redact_secrets(db, "account", account, carrying="activation_code") == 0
    [message] = service.inbox(db, "account", account)
    assert not message.redacted and message.link == "/app/lock"


def test_a_new_code_supersedes_the_one_in_the_inbox(db: Session) -> None:
    account = uuid.uuid4()
    other = uuid.uuid4()
    _issue(db, account)
    _issue(db, other)
    service.notify(
        db,
        recipient_type="account",
        recipient_id=account,
        channels={"sms": "+84912345678"},
        language="en",
        template="activation_code_renewed",
        params={"eid_number": "123456789012", "activation_code": "99887766"},
        key=f"activation-code:{account}:1",
    )
    [old] = service.inbox(db, "account", account)
    assert old.redacted and CODE not in old.body
    [untouched] = service.inbox(db, "account", other)  # another holder's message stays
    assert CODE in untouched.body


def test_an_expired_code_is_never_shown_and_the_sweep_overwrites_it(db: Session) -> None:
    account = uuid.uuid4()
    _issue(db, account, secret_expires_at=clock.now() + dt.timedelta(minutes=10))
    assert CODE in service.inbox(db, "account", account)[0].body
    clock.shift(dt.timedelta(minutes=11))
    [shown] = service.inbox(db, "account", account)
    assert shown.redacted and CODE not in shown.body
    assert _rows(db, account)["app"].redacted_at is None  # reading wrote nothing
    assert service.redact_expired_secrets(db) >= 1
    app = _rows(db, account)["app"]
    assert app.redacted_at is not None and CODE not in service.message_text(app)


def test_activation_redacts_the_code_it_used(db: Session) -> None:
    message = account_request()
    decision = authority.receive_account_request(
        db, message, authority.sign_request(message), portrait=None
    )
    assert decision.account_id is not None
    [issued] = service.inbox(db, "account", decision.account_id)
    assert issued.template == "account_issued" and not issued.redacted
    code = re.search(r"(?<!\d)\d{8}(?!\d)", issued.body)  # the e-ID number has 12 digits
    assert code is not None
    view = authority.get_account(db, decision.account_id)

    authority.activate(db, view.eid_number, code.group())

    [after] = service.inbox(db, "account", decision.account_id)
    assert after.redacted and code.group() not in after.body and view.eid_number in after.body


def test_a_new_activation_code_sent_by_the_authority_supersedes_the_first(db: Session) -> None:
    message = account_request()
    decision = authority.receive_account_request(
        db, message, authority.sign_request(message), portrait=None
    )
    assert decision.account_id is not None
    authority.send_new_activation_code(db, decision.account_id, actor=Actor.system("tests"))
    [first] = service.inbox(db, "account", decision.account_id)
    assert first.redacted
