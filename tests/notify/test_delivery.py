"""Delivery through the real queue worker to real local peers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.jobs import Job, Worker
from eid.core.settings import get_settings
from eid.notify import service
from eid.notify.local_outbox import LocalOutboxSmsGateway
from eid.notify.ports import Channels
from eid.notify.smtp import SmtpEmailSender
from eid.wiring import build_ports
from tests.support import Peers, free_port

PARAMS = {"full_name": "KIM MIN-JUN", "eid_number": "123456789012", "activation_code": "04711234"}


def _issue(channels: dict[str, str | None], language: str = "vi") -> uuid.UUID:
    account = uuid.uuid4()
    with unit_of_work() as session:
        service.notify(
            session,
            recipient_type="account",
            recipient_id=account,
            channels=channels,
            language=language,
            template="account_issued",
            params=PARAMS,
            key=f"account-issued:{account}",
        )
    return account


def _worker(channels: Channels) -> Worker:
    """The queue worker, handed these channels as `eid worker` is handed the configured ones."""
    return Worker(context=build_ports(channels=channels))


def _status(account: uuid.UUID) -> dict[str, service.DeliveryStatus]:
    with unit_of_work() as session:
        return {s.channel: s for s in service.delivery_status(session, account)}


def test_email_and_sms_reach_the_local_servers(
    committed: Engine,
    live_channels: Channels,
    peers: Peers,
) -> None:
    account = _issue({"email": "kim@example.com", "sms": "+84912345678", "app": None})
    assert _worker(live_channels).drain() == 2

    [(recipients, message)] = peers.smtp.messages
    assert recipients == ["kim@example.com"]
    assert message["Subject"] == "Tài khoản định danh điện tử của Quý vị đã được tạo"
    assert message["From"] == get_settings().smtp_from == "eid@localhost"
    body = message.get_content()
    assert "Mã kích hoạt: 04711234" in body
    status = _status(account)
    assert message["Message-ID"] == f"<notification-{status['email'].id}@localhost>"

    [sms] = peers.sms.messages
    assert sms["to"] == "+84912345678"
    assert "04711234" in sms["text"]
    assert sms["idempotency_key"] == f"notification-{status['sms'].id}"
    assert {c: (s.status, s.attempts) for c, s in status.items()} == {
        "email": ("sent", 1),
        "sms": ("sent", 1),
        "app": ("delivered", 0),
    }


def test_a_delivery_job_run_twice_sends_one_email(
    committed: Engine, live_channels: Channels, peers: Peers
) -> None:
    _issue({"email": "kim@example.com", "app": None})
    assert _worker(live_channels).drain() == 1
    with unit_of_work() as session:  # as if the job were claimed again after a lost lease
        session.execute(update(Job).where(Job.task == "notify.deliver").values(status="queued"))
    assert _worker(live_channels).drain() == 1
    assert len(peers.smtp.messages) == 1


def test_gateway_503_then_200_is_delivered_once_on_the_second_attempt(
    committed: Engine, live_channels: Channels, peers: Peers
) -> None:
    peers.sms.script = [503]
    account = _issue({"sms": "+84912345678"})
    assert _worker(live_channels).drain() == 1
    first = _status(account)["sms"]
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.last_error is not None and "503" in first.last_error
    assert "+849" not in first.last_error

    assert _worker(live_channels).drain() == 0  # backoff: not due yet
    clock.shift(timedelta(seconds=3))
    assert _worker(live_channels).drain() == 1
    assert peers.sms.requests == 2
    assert len(peers.sms.messages) == 1
    second = _status(account)["sms"]
    assert (second.status, second.attempts, second.last_error) == ("sent", 2, None)


def test_gateway_400_fails_without_retry(
    committed: Engine, live_channels: Channels, peers: Peers
) -> None:
    peers.sms.script = [400]
    account = _issue({"sms": "+84912345678"})
    assert _worker(live_channels).drain() == 1
    clock.shift(timedelta(hours=2))
    assert _worker(live_channels).drain() == 0
    assert peers.sms.requests == 1
    failed = _status(account)["sms"]
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "SMS gateway answered 400"


def test_unreachable_smtp_is_retried_then_failed_on_the_last_attempt(
    committed: Engine, tmp_path: Path
) -> None:
    channels = Channels(
        email=SmtpEmailSender("127.0.0.1", free_port(), "eid@immigration.example", timeout=2),
        sms=LocalOutboxSmsGateway(tmp_path),
    )
    account = _issue({"email": "kim@example.com"})
    with unit_of_work() as session:
        session.execute(update(Job).where(Job.task == "notify.deliver").values(max_attempts=2))
    assert _worker(channels).drain() == 1
    retrying = _status(account)["email"]
    assert retrying.status == "queued"
    assert retrying.last_error is not None and "unreachable" in retrying.last_error
    clock.shift(timedelta(seconds=5))
    assert _worker(channels).drain() == 1
    failed = _status(account)["email"]
    assert (failed.status, failed.attempts) == ("failed", 2)
    with unit_of_work() as session:
        job = session.execute(select(Job).where(Job.task == "notify.deliver")).scalar_one()
        assert job.status == "done"  # the handler gave up cleanly; nothing left to retry
