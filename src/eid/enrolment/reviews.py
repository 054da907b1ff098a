"""Applications held for review, as a supervisor sees and decides them.

The review rows (reasons, candidate, decision) are verification's; the application, its captures
and its state are enrolment's, so the queue's view and the decision are put together here:
verification never reads or writes an application."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import audit
from eid.core.audit import Actor
from eid.core.crypto import unseal
from eid.core.errors import NotFound
from eid.enrolment.models import Application, Capture
from eid.enrolment.notices import notify_rejection
from eid.enrolment.service import capture_aad, forward_registration
from eid.enrolment.state import transition
from eid.i18n import FALLBACK
from eid.registry.ports import ImmigrationRegistry, RegistryRecord
from eid.verification import service as verification
from eid.verification.models import Review


def open_reviews(
    session: Session,
    actor: Actor,
    registry: ImmigrationRegistry | None = None,
    *,
    language: str = FALLBACK,
) -> list[dict[str, Any]]:
    return [
        review_view(session, r, actor, registry, language=language)
        for r in verification.open_reviews(session, actor.office)
    ]


def _registry_record(registry: ImmigrationRegistry, app: Application) -> RegistryRecord | None:
    """The applicant's record in the immigration database: the one verification matched, else
    the one their passport (then residence card) names."""
    if app.registry_ref:
        found = registry.find_by_person(app.registry_ref)
        if found is not None:
            return found
    return registry.find_by_passport(app.passport["number"]) or registry.find_by_residence_card(
        app.residence_card["number"]
    )


def _registry_summary(
    session: Session, registry: ImmigrationRegistry, app: Application, actor: Actor, review: Review
) -> dict[str, Any] | None:
    """The registry's data, field for field as the application's summary, for every kind of
    hold (a data mismatch included); the read is audited."""
    record = _registry_record(registry, app)
    if record is None:
        return None
    audit.record(
        session, actor, "registry.record.read", "application", app.id, reason=f"review {review.id}"
    )
    return {
        "full_name": record.full_name,
        "date_of_birth": record.date_of_birth.isoformat(),
        "sex": record.sex,
        "nationality": record.nationality,
        "passport_number": record.passport.number,
        "passport_expiry": record.passport.expiry_date.isoformat(),
        "card_number": record.residence_card.number,
        "card_expiry": record.residence_card.expiry_date.isoformat(),
        "status": record.status,
    }


def decide_review(
    session: Session,
    review_id: uuid.UUID,
    *,
    decision: str,
    note: str,
    actor: Actor,
    registry: ImmigrationRegistry | None = None,
    language: str = FALLBACK,
) -> dict[str, Any]:
    """The review closes (verification) and the application moves on (here), in one
    transaction: approved, it is verified; rejected, it is refused and leaves the gallery."""
    closed = verification.close_review(
        session, review_id, decision=decision, note=note, actor=actor
    )
    app = session.execute(
        select(Application).where(Application.id == closed.application_id).with_for_update()
    ).scalar_one()
    if closed.decision == "approve":
        transition(session, app, "verified", actor=actor, reason=f"review approved: {note}")
        forward_registration(session, app, actor=actor)
    else:
        app.rejection_code = "REVIEW_REJECTED"
        app.rejection_reason = note
        transition(session, app, "rejected", actor=actor, reason=f"review rejected: {note}")
        notify_rejection(session, app)
        verification.withdraw_from_gallery(session, app.id)
    return review_view(
        session,
        verification.review_of_office(session, review_id, actor.office),
        actor,
        registry,
        language=language,
    )


def review_portrait(
    session: Session,
    review_id: uuid.UUID,
    side: str,
    actor: Actor,
    registry: ImmigrationRegistry,
) -> bytes:
    """A portrait for the supervisor to compare (audited): the held application's capture
    (`application`), the capture of the identity it may duplicate (`candidate`), or the photo the
    immigration database holds for the applicant (`registry`, for a face that did not match it).

    Only the supervisor of the review's office may see it, as only they may decide it."""
    review = verification.review_of_office(session, review_id, actor.office)
    if side == "registry":
        held = session.get(Application, review.application_id)
        record = _registry_record(registry, held) if held else None
        on_file = registry.biometrics_on_file(record.person_ref) if record else None
        if held is None or on_file is None or on_file.portrait is None:
            raise NotFound(
                "the immigration database holds no photo of this applicant",
                code="PORTRAIT_NOT_ON_FILE",
            )
        audit.record(
            session,
            actor,
            "registry.portrait.read",
            "application",
            held.id,
            reason=f"review {review.id}",
        )
        return on_file.portrait
    app_id = review.application_id if side == "application" else review.candidate_application_id
    if app_id is None:
        raise NotFound("this review has no candidate record", code="NO_CANDIDATE")
    row = session.execute(
        select(Capture).where(
            Capture.application_id == app_id, Capture.kind == "portrait", Capture.position == 0
        )
    ).scalar_one_or_none()
    if row is None or row.image is None:
        raise NotFound(
            "the portrait of this application is no longer kept", code="PORTRAIT_NOT_KEPT"
        )
    audit.record(
        session, actor, "capture.read", "application", app_id, reason=f"review {review.id}"
    )
    return unseal(row.image, aad=capture_aad(app_id, "portrait", 0, "image"))


def review_view(
    session: Session,
    review: Review,
    actor: Actor,
    registry: ImmigrationRegistry | None = None,
    *,
    language: str = FALLBACK,
) -> dict[str, Any]:
    """What a supervisor sees: the application, the immigration database's record of the
    applicant and, for a possible second identity, the other record, side by side (reads
    audited); the checks' reasons in `language`."""

    def summary(app_id: uuid.UUID | None) -> dict[str, Any] | None:
        if app_id is None:
            return None
        a = session.get(Application, app_id)
        if a is None:
            return None
        audit.record(session, actor, "application.read", "application", a.id, reason="review")
        return {
            "id": str(a.id),
            "status": a.status,
            "full_name": a.full_name,
            "date_of_birth": a.date_of_birth.isoformat(),
            "sex": a.sex,
            "nationality": a.nationality,
            "passport_number": a.passport["number"],
            "passport_expiry": a.passport["expiry_date"],
            "card_number": a.residence_card["number"],
            "card_expiry": a.residence_card["expiry_date"],
            "office_code": a.office_code,
            "level": a.level,
            "channel": a.channel,
        }

    held = session.get(Application, review.application_id)
    run = held.verification_run if held else 0
    checks = verification.checks_of(session, review.application_id, run, language=language)
    return {
        "id": str(review.id),
        "status": review.status,
        "reasons": review.reasons,
        "application": summary(review.application_id),
        "candidate": summary(review.candidate_application_id),
        "registry": (
            _registry_summary(session, registry, held, actor, review)
            if registry is not None and held is not None
            else None
        ),
        "checks": checks,
        "decision": review.decision,
        "note": review.note,
    }
