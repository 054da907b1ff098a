"""Delivery of queued notifications, one job per message."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.jobs import periodic, task
from eid.core.settings import get_settings
from eid.notify import repository
from eid.notify.models import Notification
from eid.notify.ports import Channels, DeliveryFailed, HasChannels
from eid.notify.service import DELIVER_TASK, message_text, redact_expired_secrets

log = logging.getLogger(__name__)


def message_id_for(notification_id: uuid.UUID) -> str:
    """Stable per notification, so a retried email is recognisably the same message."""
    domain = get_settings().smtp_from.rpartition("@")[2] or "eid.localhost"
    return f"<notification-{notification_id}@{domain}>"


def _send(notification: Notification, channels: Channels) -> None:
    text = message_text(notification)
    address = notification.address
    if address is None:
        raise DeliveryFailed(f"no address for {notification.channel}", permanent=True)
    if notification.channel == "email":
        channels.email.send(
            to=address,
            subject=notification.subject,
            body=text,
            message_id=message_id_for(notification.id),
        )
    elif notification.channel == "sms":
        channels.sms.send(to=address, text=text, idempotency_key=f"notification-{notification.id}")
    else:
        raise DeliveryFailed(f"channel {notification.channel} is not sent", permanent=True)


@task(DELIVER_TASK)
def deliver(session: Session, payload: dict[str, Any], ports: HasChannels) -> None:
    """Send once. A transient failure raises, so the queue retries with backoff; a permanent
    one, or a transient one on the job's last attempt, marks the message failed and ends."""
    notification_id = uuid.UUID(payload["notification_id"])
    notification = repository.get_for_update(session, notification_id)
    if notification is None or notification.status != "queued":
        return  # already sent or given up: a re-run must not send twice
    attempt = repository.deliver_attempt(session, notification_id)
    notification.attempts = attempt.number if attempt else notification.attempts + 1
    try:
        _send(notification, ports.channels)
    except DeliveryFailed as failure:
        notification.last_error = failure.reason
        if failure.permanent or (attempt is not None and attempt.last):
            notification.status = "failed"
            log.warning(
                "notification %s (%s) failed for good: %s",
                notification.id,
                notification.channel,
                failure.reason,
            )
            return
        raise
    notification.status = "sent"
    notification.sent_at = clock.now()
    notification.last_error = None
    log.info("notification %s sent by %s", notification.id, notification.channel)


@periodic("notify.redact_expired_secrets", every=timedelta(hours=1))
@task("notify.redact_expired_secrets")
def redact_expired(session: Session, payload: dict[str, Any], _: object) -> None:
    """Until the sweep runs, the inbox already shows an expired code masked."""
    count = redact_expired_secrets(session)
    if count:
        log.info("%d inbox messages with an expired code redacted", count)
