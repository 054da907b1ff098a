"""Every query on notifications (and the one read of their delivery jobs)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from eid.core.jobs import Job
from eid.notify.models import Notification


def deliver_job_key(notification_id: uuid.UUID) -> str:
    return f"deliver:{notification_id}"


def insert_if_new(session: Session, values: dict[str, Any]) -> bool:
    """Insert unless the idempotency key exists; True when this call inserted the row."""
    stmt = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Notification.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def id_for_key(session: Session, idempotency_key: str) -> uuid.UUID:
    return session.execute(
        select(Notification.id).where(Notification.idempotency_key == idempotency_key)
    ).scalar_one()


def get_for_update(session: Session, notification_id: uuid.UUID) -> Notification | None:
    return session.execute(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Attempt:
    number: int
    last: bool


def deliver_attempt(session: Session, notification_id: uuid.UUID) -> Attempt | None:
    """Which attempt of the delivery job this is. The worker holds the job row locked in this
    same session, so reading it does not wait."""
    row = session.execute(
        select(Job.attempts, Job.max_attempts).where(
            Job.idempotency_key == deliver_job_key(notification_id)
        )
    ).first()
    if row is None:
        return None
    attempts, max_attempts = row
    return Attempt(number=attempts, last=attempts >= max_attempts)


def app_messages(
    session: Session, recipient_type: str, recipient_id: uuid.UUID, limit: int
) -> Sequence[Notification]:
    return (
        session.execute(
            select(Notification)
            .where(
                Notification.recipient_type == recipient_type,
                Notification.recipient_id == recipient_id,
                Notification.channel == "app",
            )
            .order_by(Notification.created_at.desc(), Notification.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def mark_app_message_read(
    session: Session,
    recipient_type: str,
    recipient_id: uuid.UUID,
    notification_id: uuid.UUID,
    at: datetime,
) -> bool:
    """Keeps the first reading time; False when no such message belongs to the recipient."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.recipient_type == recipient_type,
            Notification.recipient_id == recipient_id,
            Notification.channel == "app",
        )
        .values(read_at=func.coalesce(Notification.read_at, at))
        .returning(Notification.id)
    )
    return result.first() is not None


def _redacted(at: datetime) -> dict[str, Any]:
    # The masked copy is sealed under the body's own AAD, so it moves in place: the clear text's
    # ciphertext is overwritten, not hidden behind a flag.
    return {
        "body": Notification.masked_body,
        "masked_body": None,
        "secret_expires_at": None,
        "redacted_at": at,
    }


def redact(
    session: Session,
    recipient_type: str,
    recipient_id: uuid.UUID,
    templates: Sequence[str],
    *,
    at: datetime,
    keep: Sequence[uuid.UUID] = (),
) -> int:
    result = session.execute(
        update(Notification)
        .where(
            Notification.recipient_type == recipient_type,
            Notification.recipient_id == recipient_id,
            Notification.template.in_(templates),
            Notification.masked_body.is_not(None),
            Notification.id.not_in(keep) if keep else true(),
        )
        .values(**_redacted(at))
        .returning(Notification.id)
    )
    return len(result.all())


def redact_expired(session: Session, *, at: datetime) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.masked_body.is_not(None), Notification.secret_expires_at < at)
        .values(**_redacted(at))
        .returning(Notification.id)
    )
    return len(result.all())


def with_delivery_jobs(
    session: Session, recipient_id: uuid.UUID
) -> Sequence[tuple[Notification, Job | None]]:
    rows = session.execute(
        select(Notification, Job)
        .outerjoin(Job, Job.idempotency_key == func.concat("deliver:", Notification.id))
        .where(Notification.recipient_id == recipient_id)
        .order_by(Notification.created_at, Notification.channel)
    ).all()
    return [(notification, job) for notification, job in rows]
