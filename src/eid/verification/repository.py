"""Queries of the verification domain."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from eid.verification.models import ApplicationCheck, IdentityTemplate, Review


def latest_checks(session: Session, application_id: uuid.UUID, run: int) -> list[ApplicationCheck]:
    return list(
        session.execute(
            select(ApplicationCheck)
            .where(ApplicationCheck.application_id == application_id, ApplicationCheck.run == run)
            .order_by(ApplicationCheck.id)
        ).scalars()
    )


def named_check(
    session: Session, application_id: uuid.UUID, run: int, name: str
) -> ApplicationCheck | None:
    return session.execute(
        select(ApplicationCheck).where(
            ApplicationCheck.application_id == application_id,
            ApplicationCheck.run == run,
            ApplicationCheck.name == name,
        )
    ).scalar_one_or_none()


def deactivate_template(session: Session, application_id: uuid.UUID) -> None:
    """A cancelled or refused application leaves the duplicate gallery."""
    session.execute(
        update(IdentityTemplate)
        .where(IdentityTemplate.application_id == application_id)
        .values(active=False)
    )


def face_templates_after(
    session: Session, last_id: int, limit: int
) -> list[tuple[int, uuid.UUID, bytes | None, bool]]:
    """(id, application id, sealed face, active) of the next `limit` gallery rows after
    `last_id`: only the columns the 1:N index needs, a bounded batch at a time."""
    rows = session.execute(
        select(
            IdentityTemplate.id,
            IdentityTemplate.application_id,
            IdentityTemplate.face,
            IdentityTemplate.active,
        )
        .where(IdentityTemplate.id > last_id)
        .order_by(IdentityTemplate.id)
        .limit(limit)
    ).all()
    return [(r.id, r.application_id, r.face, r.active) for r in rows]


def active_templates(session: Session, application_ids: list[uuid.UUID]) -> list[IdentityTemplate]:
    return list(
        session.execute(
            select(IdentityTemplate).where(
                IdentityTemplate.application_id.in_(application_ids), IdentityTemplate.active
            )
        ).scalars()
    )


def open_reviews(session: Session, office: str | None) -> list[Review]:
    stmt = select(Review).where(Review.status == "open").order_by(Review.created_at)
    if office is not None:
        # The office's own, and those of registrations in the app (no office), which any
        # supervisor may take.
        stmt = stmt.where(or_(Review.office_code == office, Review.office_code.is_(None)))
    return list(session.execute(stmt).scalars())
