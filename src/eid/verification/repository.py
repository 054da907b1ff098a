"""Queries of the verification domain."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from eid.verification.models import ApplicationCheck, IdentityTemplate, Review


def latest_checks(session: Session, application_id: uuid.UUID, run: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ApplicationCheck)
        .where(ApplicationCheck.application_id == application_id, ApplicationCheck.run == run)
        .order_by(ApplicationCheck.id)
    ).scalars()
    return [
        {
            "name": c.name,
            "outcome": c.outcome,
            "reason": c.reason,
            "score": c.score,
            "threshold": c.threshold,
        }
        for c in rows
    ]


def deactivate_template(session: Session, application_id: uuid.UUID) -> None:
    """A cancelled or refused application leaves the duplicate gallery."""
    session.execute(
        update(IdentityTemplate)
        .where(IdentityTemplate.application_id == application_id)
        .values(active=False)
    )


def templates_after(session: Session, last_id: int) -> list[IdentityTemplate]:
    return list(
        session.execute(
            select(IdentityTemplate)
            .where(IdentityTemplate.id > last_id)
            .order_by(IdentityTemplate.id)
        ).scalars()
    )


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
        stmt = stmt.where(Review.office_code == office)
    return list(session.execute(stmt).scalars())
