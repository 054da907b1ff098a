from __future__ import annotations

import uuid

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eid.core.errors import NotFound, ValidationFailed
from eid.core.jobs import Job
from eid.notify import service
from eid.notify.models import Notification

PARAMS = {"full_name": "KIM MIN-JUN", "eid_number": "123456789012", "activation_code": "04711234"}
CHANNELS = {"email": "kim@example.com", "sms": "+84912345678", "app": None}


def _issue(db: Session, account: uuid.UUID, **overrides: object) -> list[uuid.UUID]:
    arguments: dict[str, object] = {
        "recipient_type": "account",
        "recipient_id": account,
        "channels": CHANNELS,
        "language": "vi",
        "template": "account_issued",
        "params": PARAMS,
        "key": f"account-issued:{account}",
    }
    arguments.update(overrides)
    return service.notify(db, **arguments)  # type: ignore[arg-type]


def test_one_message_per_channel_and_a_job_for_email_and_sms(db: Session) -> None:
    account = uuid.uuid4()
    ids = _issue(db, account)
    rows = db.execute(select(Notification).where(Notification.id.in_(ids))).scalars().all()
    assert sorted((n.channel, n.status) for n in rows) == [
        ("app", "delivered"),
        ("email", "queued"),
        ("sms", "queued"),
    ]
    job_keys = db.execute(select(Job.idempotency_key).where(Job.task == "notify.deliver"))
    expected = {f"deliver:{n.id}" for n in rows if n.channel != "app"}
    assert expected <= set(job_keys.scalars())


def test_calling_twice_creates_nothing_new(db: Session) -> None:
    account = uuid.uuid4()
    first = _issue(db, account)
    second = _issue(db, account)
    assert first == second
    count = db.execute(
        select(func.count()).select_from(Notification).where(Notification.recipient_id == account)
    ).scalar_one()
    assert count == 3
    jobs = db.execute(
        select(func.count())
        .select_from(Job)
        .where(Job.idempotency_key.in_([f"deliver:{i}" for i in first]))
    ).scalar_one()
    assert jobs == 2


def test_channels_without_an_address_are_skipped(db: Session) -> None:
    ids = _issue(db, uuid.uuid4(), channels={"email": None, "sms": "+84912345678", "app": None})
    channels = db.execute(select(Notification.channel).where(Notification.id.in_(ids)))
    assert sorted(channels.scalars()) == ["app", "sms"]


def test_the_activation_code_is_sealed_at_rest(db: Session) -> None:
    ids = _issue(db, uuid.uuid4())
    for notification in db.execute(select(Notification).where(Notification.id.in_(ids))).scalars():
        assert b"04711234" not in notification.body
        assert "04711234" in service.message_text(notification)
        assert "04711234" not in notification.subject


def test_a_sealed_body_cannot_be_moved_to_another_row(db: Session) -> None:
    a, b = (
        db.execute(
            select(Notification).where(Notification.id == _issue(db, uuid.uuid4())[0])
        ).scalar_one()
        for _ in range(2)
    )
    a.body = b.body
    with pytest.raises(InvalidTag):  # AES-GCM refuses a body sealed for another row
        service.message_text(a)


def test_inbox_and_mark_read(db: Session) -> None:
    account = uuid.uuid4()
    _issue(db, account)
    [message] = service.inbox(db, "account", account)
    assert message.subject == "Tài khoản định danh điện tử của Quý vị đã được tạo"
    assert "Mã kích hoạt: 04711234" in message.body
    assert message.read_at is None
    service.mark_read(db, "account", account, message.id)
    db.expire_all()
    [read] = service.inbox(db, "account", account)
    assert read.read_at is not None
    service.mark_read(db, "account", account, message.id)
    db.expire_all()
    assert service.inbox(db, "account", account)[0].read_at == read.read_at
    with pytest.raises(NotFound):
        service.mark_read(db, "account", uuid.uuid4(), message.id)
    service.mark_read(db, "account", account, str(message.id))  # as taken from a URL
    with pytest.raises(NotFound):
        service.mark_read(db, "account", account, "not-a-uuid")


def test_delivery_status_hides_the_address(db: Session) -> None:
    account = uuid.uuid4()
    _issue(db, account)
    status = {s.channel: s for s in service.delivery_status(db, account)}
    assert status["email"].status == "queued"
    assert status["email"].address_hint == "k***@example.com"
    assert status["sms"].address_hint == "***678"
    assert status["app"].status == "delivered"


def test_bad_channel_or_recipient_type_is_refused(db: Session) -> None:
    with pytest.raises(ValidationFailed) as channel:
        _issue(db, uuid.uuid4(), channels={"fax": "1"})
    assert channel.value.code == "INVALID_CHANNEL"
    with pytest.raises(ValidationFailed) as recipient:
        _issue(db, uuid.uuid4(), recipient_type="officer")
    assert recipient.value.code == "INVALID_RECIPIENT_TYPE"
