"""The outbox: a notification is a row written in the caller's transaction, with its delivery job.

A rolled-back request therefore sends nothing, and a committed one always sends. The same `key`
twice adds nothing: one message per channel per event, however often the caller retries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from eid.core import clock, jobs
from eid.core.crypto import seal, unseal
from eid.core.errors import NotFound, ValidationFailed
from eid.core.ids import new_id
from eid.notify import repository
from eid.notify.models import CHANNELS, RECIPIENT_TYPES, Notification, body_aad
from eid.notify.templates import (
    SECRET_PARAMS,
    TEMPLATES,
    Rendered,
    app_link,
    render,
    secrets_of,
)

DELIVER_TASK = "notify.deliver"
# Backoff doubles from 2 s (eid.core.jobs.backoff): 12 attempts span about an hour and a half,
# enough to ride out a restarting mail server or gateway without paging anyone.
MAX_DELIVERY_ATTEMPTS = 12
# A secret whose sender gave no expiry leaves the inbox after the longest life of any code here
# (an activation code: 30 days).
DEFAULT_SECRET_TTL = timedelta(days=30)


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
    secret_expires_at: datetime | None = None,
) -> list[uuid.UUID]:
    """One notification per channel (email and SMS only with an address); returns their ids,
    those already made by an earlier call with the same key included.

    A template carrying a one-time secret (`templates.SECRET_PARAMS`) keeps its app copy
    redactable: masked once the code is used (`redact_secrets`), superseded (this call, for the
    recipient's older messages carrying the same kind of secret) or expired (`secret_expires_at`,
    else `DEFAULT_SECRET_TTL`)."""
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
    carried = secrets_of(template)
    ids: list[uuid.UUID] = []
    inserted_any = False
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
                **_secret_columns(notification_id, rendered, in_app, secret_expires_at),
            },
        )
        if not inserted:
            ids.append(repository.id_for_key(session, idempotency_key))
            continue
        inserted_any = True
        if not in_app:
            jobs.enqueue(
                session,
                DELIVER_TASK,
                {"notification_id": str(notification_id)},
                key=repository.deliver_job_key(notification_id),
                max_attempts=MAX_DELIVERY_ATTEMPTS,
            )
        ids.append(notification_id)
    if carried and inserted_any:
        # A new code makes every earlier one of its kind useless: their inbox copies go now.
        for secret in sorted(carried):
            redact_secrets(session, recipient_type, recipient_id, carrying=secret, keep=ids)
    return ids


def _secret_columns(
    notification_id: uuid.UUID, rendered: Rendered, in_app: bool, expires_at: datetime | None
) -> dict[str, object]:
    if not in_app or rendered.masked_body is None:
        return {}
    return {
        "masked_body": seal(rendered.masked_body.encode(), aad=body_aad(notification_id)),
        "secret_expires_at": expires_at or clock.now() + DEFAULT_SECRET_TTL,
    }


def redact_secrets(
    session: Session,
    recipient_type: str,
    recipient_id: uuid.UUID,
    *,
    carrying: str,
    keep: Iterable[uuid.UUID] = (),
) -> int:
    """The recipient's app messages carrying a secret (`"activation_code"`, `"otp"`) show it
    masked from now on: the masked text overwrites the sealed body. Called by the domain that
    saw the code used (activation, a confirmed OTP); returns how many messages changed."""
    if carrying not in SECRET_PARAMS:
        raise ValueError(f"not a secret parameter: {carrying!r}")  # a caller's mistake
    templates = [name for name in TEMPLATES if carrying in secrets_of(name)]
    return repository.redact(
        session, recipient_type, recipient_id, templates, at=clock.now(), keep=list(keep)
    )


def redact_expired_secrets(session: Session) -> int:
    """The sweep (`tasks.redact_expired_secrets`): codes past their life leave every inbox."""
    return repository.redact_expired(session, at=clock.now())


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
    link: str | None  # the app page the message is about (a path under /app)
    redacted: bool  # its one-time code was used, superseded or has expired: shown masked


def _inbox_text(n: Notification, now: datetime) -> tuple[str, bool]:
    if n.redacted_at is not None:
        return message_text(n), True
    if n.masked_body is not None and n.secret_expires_at is not None and n.secret_expires_at < now:
        # Expired but not yet swept: never shown in clear; the sweep overwrites it.
        return unseal(n.masked_body, aad=body_aad(n.id)).decode(), True
    return message_text(n), False


def inbox(
    session: Session, recipient_type: str, recipient_id: uuid.UUID, *, limit: int = 100
) -> list[InboxMessage]:
    """The holder's app messages, newest first."""
    now = clock.now()
    messages = []
    for n in repository.app_messages(session, recipient_type, recipient_id, limit):
        body, redacted = _inbox_text(n, now)
        messages.append(
            InboxMessage(
                id=n.id,
                template=n.template,
                language=n.language,
                subject=n.subject,
                body=body,
                created_at=n.created_at,
                read_at=n.read_at,
                link=app_link(n.template),
                redacted=redacted,
            )
        )
    return messages


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
