"""The outbox: a notification is a row written in the caller's transaction, with its delivery job.

A rolled-back request therefore sends nothing, and a committed one always sends. The same `key`
twice adds nothing: one message per channel per event, however often the caller retries.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from eid.core import clock, jobs
from eid.core.crypto import seal, unseal
from eid.core.errors import NotFound, ValidationFailed
from eid.core.ids import new_id
from eid.notify import repository
from eid.notify.models import CHANNELS, RECIPIENT_TYPES, Notification, body_aad
from eid.notify.templates import render

DELIVER_TASK = "notify.deliver"
# Backoff doubles from 2 s (eid.core.jobs.backoff): 12 attempts span about an hour and a half,
# enough to ride out a restarting mail server or gateway without paging anyone.
MAX_DELIVERY_ATTEMPTS = 12


def notify(
    session: Session,
    *,
    recipient_type: str,
    recipient_id: uuid.UUID,
    channels: Mapping[str, str | None],
    language: str,
    template: str,
    params: Mapping[str, object],
    key: str,
) -> list[uuid.UUID]:
    """One notification per channel (email and SMS only with an address); returns their ids,
    those already made by an earlier call with the same key included."""
    if recipient_type not in RECIPIENT_TYPES:
        raise ValidationFailed(
            "unknown recipient type",
            code="INVALID_RECIPIENT_TYPE",
            details={"recipient_type": recipient_type, "allowed": list(RECIPIENT_TYPES)},
        )
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        raise ValidationFailed(
            "unknown notification channel",
            code="INVALID_CHANNEL",
            details={"channels": unknown, "allowed": list(CHANNELS)},
        )
    rendered = render(template, language, params)
    ids: list[uuid.UUID] = []
    for channel, address in channels.items():
        if channel != "app" and not address:
            continue
        notification_id = new_id()
        idempotency_key = f"{key}:{channel}"
        text = rendered.sms if channel == "sms" else rendered.body
        in_app = channel == "app"
        inserted = repository.insert_if_new(
            session,
            {
                "id": notification_id,
                "idempotency_key": idempotency_key,
                "recipient_type": recipient_type,
                "recipient_id": recipient_id,
                "channel": channel,
                **Notification.address.columns(notification_id, None if in_app else address),
                "language": rendered.language,
                "template": template,
                "subject": rendered.subject,
                "body": seal(text.encode(), aad=body_aad(notification_id)),
                # The app inbox is ours: the message is there as soon as the row commits.
                "status": "delivered" if in_app else "queued",
                "attempts": 0,
                "sent_at": clock.now() if in_app else None,
            },
        )
        if not inserted:
            ids.append(repository.id_for_key(session, idempotency_key))
            continue
        if not in_app:
            jobs.enqueue(
                session,
                DELIVER_TASK,
                {"notification_id": str(notification_id)},
                key=repository.deliver_job_key(notification_id),
                max_attempts=MAX_DELIVERY_ATTEMPTS,
            )
        ids.append(notification_id)
    return ids


def message_text(notification: Notification) -> str:
    return unseal(notification.body, aad=body_aad(notification.id)).decode()


@dataclass(frozen=True)
class InboxMessage:
    id: uuid.UUID
    template: str
    language: str
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None


def inbox(
    session: Session, recipient_type: str, recipient_id: uuid.UUID, *, limit: int = 100
) -> list[InboxMessage]:
    """The holder's app messages, newest first."""
    return [
        InboxMessage(
            id=n.id,
            template=n.template,
            language=n.language,
            subject=n.subject,
            body=message_text(n),
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n in repository.app_messages(session, recipient_type, recipient_id, limit)
    ]


def mark_read(
    session: Session,
    recipient_type: str,
    recipient_id: uuid.UUID,
    notification_id: uuid.UUID | str,
) -> None:
    """Idempotent: the first reading time is kept. The id may come straight from a URL."""
    missing = NotFound("no such message in this inbox", code="NOTIFICATION_NOT_FOUND")
    try:
        wanted = uuid.UUID(str(notification_id))
    except ValueError:
        raise missing from None
    if not repository.mark_app_message_read(
        session, recipient_type, recipient_id, wanted, clock.now()
    ):
        raise missing


@dataclass(frozen=True)
class DeliveryStatus:
    id: uuid.UUID
    channel: str
    template: str
    status: str
    attempts: int
    last_error: str | None
    address_hint: str | None
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None


def delivery_status(session: Session, recipient_id: uuid.UUID) -> list[DeliveryStatus]:
    """Per message: where it stands. While a delivery is being retried, the attempt count and
    the last error live on its job (the handler's own writes roll back with a failed attempt)."""
    result = []
    for n, job in repository.with_delivery_jobs(session, recipient_id):
        status = n.status
        if status == "queued" and job is not None and job.status == "dead":
            status = "failed"  # the job gave up on an error the handler could not classify
        result.append(
            DeliveryStatus(
                id=n.id,
                channel=n.channel,
                template=n.template,
                status=status,
                attempts=max(n.attempts, job.attempts if job else 0),
                last_error=n.last_error or (job.last_error if job else None),
                address_hint=_hint(n.channel, n.address),
                created_at=n.created_at,
                sent_at=n.sent_at,
                read_at=n.read_at,
            )
        )
    return result


def _hint(channel: str, address: str | None) -> str | None:
    """Enough for an officer to confirm the channel with the holder, not to contact them."""
    if not address:
        return None
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"***{address[-3:]}"
