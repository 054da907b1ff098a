"""The checks of one application: documents against the registry, face and fingers 1:1,
duplicates 1:N. Hard failures reject; biometric doubt and possible duplicates go to review.

Given plain inputs (`schemas.Applicant`, `CapturedBiometrics`), it answers a typed outcome and
keeps its own rows (checks, reviews, the gallery); the application is enrolment's to change."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from eid.biometrics.ports import BiometricMatcher
from eid.biometrics.thresholds import (
    FACE_ALONE_DUPLICATE_THRESHOLD,
    face_alone_duplicate_threshold,
)
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import seal, unseal
from eid.core.errors import Conflict, NotFound, ValidationFailed
from eid.i18n import N_, Msgid
from eid.registry.documents import state_against
from eid.registry.ports import BiometricsOnFile, ImmigrationRegistry, RegistryRecord
from eid.verification import reasons, repository
from eid.verification.gallery import GALLERY_LOCK, Gallery, face_aad, fingers_aad
from eid.verification.models import ApplicationCheck, IdentityTemplate, Review
from eid.verification.schemas import (
    Applicant,
    CapturedBiometrics,
    CheckResult,
    ClosedReview,
    VerificationOutcome,
)

log = logging.getLogger(__name__)
SHORTLIST = 10


@dataclass
class Outcome:
    checks: list[CheckResult] = field(default_factory=list)
    candidate: uuid.UUID | None = None

    def add(
        self,
        name: str,
        outcome: str,
        reason: Msgid | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        score: float | None = None,
        threshold: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """A check's outcome; its `reason` is a message id with `params`, kept in English as
        the reason and as a message in the details, to be shown in any language
        (`reasons.reason_in`)."""
        kept = dict(details or {})
        text = None
        if reason is not None:
            text = reasons.english(reason, params or {})
            kept[reasons.DETAILS_KEY] = reasons.stored(reason, params or {})
        self.checks.append(
            CheckResult(
                name=name,
                outcome=outcome,
                reason=text,
                score=score,
                threshold=threshold,
                details=kept,
            )
        )


def _check_documents(app: Applicant, record: RegistryRecord | None, out: Outcome) -> None:
    today = clock.today_vn()
    if record is None:
        out.add("registry_record", "fail", N_("the immigration database has no such passport"))
        return
    if record.status != "resident":
        out.add(
            "registry_record",
            "fail",
            N_("the immigration database marks the person %(status)s"),
            params={"status": reasons.registry_status(record.status)},
        )
    else:
        out.add("registry_record", "pass")
    mismatched = [
        name
        for name, ours, theirs in (
            ("date_of_birth", app.date_of_birth, record.date_of_birth),
            ("nationality", app.nationality, record.nationality),
            ("sex", app.sex, record.sex),
        )
        if ours != theirs
    ]
    if mismatched:
        out.add(
            "identity_data",
            "fail",
            N_("differs from the immigration database: %(fields)s"),
            params={"fields": reasons.field_names(mismatched)},
        )
    elif " ".join(app.full_name.split()) != " ".join(record.full_name.upper().split()):
        out.add(
            "identity_data",
            "review",
            N_("the name differs from the immigration database's spelling"),
        )
    else:
        out.add("identity_data", "pass")
    if (
        app.passport_number != record.passport.number
        or app.passport_issuing_state != record.passport.issuing_state
    ):
        out.add(
            "passport", "fail", N_("passport number or issuing state differs from the database")
        )
    elif record.passport.expiry_date < today:
        out.add("passport", "fail", N_("the passport on file has expired"))
    else:
        out.add("passport", "pass")
    if (
        app.card_number != record.residence_card.number
        or app.card_kind != record.residence_card.kind
    ):
        out.add(
            "residence_card",
            "fail",
            N_("residence card number or kind differs from the database"),
        )
    elif record.residence_card.expiry_date < today:
        out.add("residence_card", "fail", N_("the residence card has expired"))
    else:
        out.add("residence_card", "pass")


def _check_declared_documents(app: Applicant, record: RegistryRecord | None, out: Outcome) -> None:
    """Each declared document against the record (`registry.documents`). Never a failure or a
    review: these numbers are integrated for the holder's convenience and decide nothing about
    the identity; a mismatch is a warning the officer sees, and the holder sees its state."""
    if not app.documents:
        return
    on_record = record.documents if record else {}
    states = {
        kind: state_against(number, on_record.get(kind)) for kind, number in app.documents.items()
    }
    mismatched = sorted(k for k, v in states.items() if v == "mismatch")
    if mismatched:
        out.add(
            "declared_documents",
            "warn",
            N_("differs from the immigration database: %(fields)s"),
            params={"fields": reasons.document_names(mismatched)},
            details={"states": states},
        )
    elif all(v == "verified" for v in states.values()):
        out.add("declared_documents", "pass", details={"states": states})
    else:
        out.add(
            "declared_documents",
            "not_applicable",
            N_("declared only: the immigration database holds no such number to compare"),
            details={"states": states},
        )


def _check_biometrics(
    matcher: BiometricMatcher,
    face: bytes | None,
    fingers: dict[int, bytes],
    on_file: BiometricsOnFile,
    out: Outcome,
    *,
    level: int = 2,
) -> None:
    if on_file.portrait is None and level == 1:
        # A Level-1 selfie is taken by nobody the state can hold to account: without a photo
        # on file to compare it with, an officer looks at it.
        out.add("face_1to1", "review", N_("no portrait on file to compare the selfie with"))
    elif on_file.portrait is None:
        out.add(
            "face_1to1",
            "not_applicable",
            N_("no portrait on file: the capture becomes the reference (7-day path)"),
        )
    elif face is None:
        out.add("face_1to1", "review", N_("no usable portrait was captured"))
    else:
        try:
            reference = matcher.face_template(on_file.portrait)
            result = matcher.compare_faces(face, reference)
            out.add(
                "face_1to1",
                "pass" if result.is_match else "review",
                None if result.is_match else N_("the face does not match the portrait on file"),
                score=result.score,
                threshold=result.threshold,
            )
        except Exception as exc:
            # Any failure of the matcher on the file's photo holds the application for a person;
            # the kind of failure is for operators (no personal data in it), not for officers.
            log.warning("portrait on file unusable: %s", type(exc).__name__)
            out.add("face_1to1", "review", N_("the portrait on file could not be used"))
    shared = sorted(set(fingers) & set(on_file.fingerprints))
    if level == 1:
        out.add("fingerprints_1to1", "not_applicable", N_("Level 1 takes no fingerprints"))
    elif not on_file.fingerprints:
        out.add(
            "fingerprints_1to1",
            "not_applicable",
            N_("no fingerprints on file: the capture becomes the reference (7-day path)"),
        )
    elif not shared:
        out.add("fingerprints_1to1", "review", N_("none of the fingers on file was captured"))
    else:
        results = []
        for position in shared:
            try:
                reference = matcher.fingerprint_template(on_file.fingerprints[position], position)
                results.append(
                    (position, matcher.compare_fingerprints(fingers[position], reference))
                )
            except Exception as exc:
                log.info("fingerprint on file unusable: %s", type(exc).__name__)
        matched = [p for p, r in results if r.is_match]
        best = max((r for _, r in results), key=lambda r: r.score, default=None)
        # Fusion: one matching finger suffices. bozorth3 at 40 misses ~6% of genuine single
        # prints on the shared set (docs/biometrics.md); requiring every finger would send about
        # one honest applicant in eight to review, while a single match at 40 is already rare
        # for an impostor (FMR 0.04% there). No finger matching is a review, never a rejection.
        if matched:
            out.add(
                "fingerprints_1to1",
                "pass",
                score=best.score if best else None,
                threshold=best.threshold if best else None,
                details={"matched": matched, "compared": [p for p, _ in results]},
            )
        else:
            out.add(
                "fingerprints_1to1",
                "review",
                _no_finger_matches(len(results)),
                params={"count": len(results)},
                score=best.score if best else None,
                threshold=best.threshold if best else None,
                details={"matched": matched, "compared": [p for p, _ in results]},
            )


def _check_duplicates(
    session: Session,
    gallery: Gallery,
    app: Applicant,
    face: bytes | None,
    fingers: dict[int, bytes],
    out: Outcome,
) -> None:
    if face is None:
        out.add("duplicates_1toN", "review", N_("no portrait to search with"))
        return
    # Search-then-insert is one critical section across every worker, held to commit: two
    # enrolments of the same person at two offices cannot miss each other, and gallery rows
    # commit in id order, so the id cursor of `Gallery.sync` never skips a late commit.
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GALLERY_LOCK})
    gallery.sync(session)
    matcher = gallery.matcher
    hits = matcher.search_faces(face, SHORTLIST)
    ids = [uuid.UUID(k) for k, _ in hits if k != str(app.application_id)]
    candidates = {
        t.application_id: t
        for t in repository.active_templates(session, ids)
        if t.registry_ref != app.registry_ref
    }
    best: dict[str, Any] = {}
    face_alone = face_alone_duplicate_threshold(matcher.indexed())
    for key, score in hits:
        cid = uuid.UUID(key)
        if cid not in candidates:
            continue
        row = candidates[cid]
        cand_face = unseal(row.face, aad=face_aad(cid)) if row.face else None
        face_result = matcher.compare_faces(face, cand_face) if cand_face else None
        compared: list[int] = []
        matched: list[int] = []
        if row.fingers is not None and fingers:
            stored = json.loads(unseal(row.fingers, aad=fingers_aad(cid)))
            for pos, tpl in fingers.items():
                if str(pos) in stored:
                    compared.append(pos)
                    r = matcher.compare_fingerprints(tpl, base64.b64decode(stored[str(pos)]))
                    if r.is_match:
                        matched.append(pos)
        if not best:  # the face search's best candidate, kept for audit even when cleared
            best = {"best_candidate_face_score": round(score, 4), "fingers_compared": compared}
        reason = duplicate_reason(
            face_score=face_result.score if face_result else None,
            face_threshold=face_result.threshold if face_result else None,
            fingers_compared=compared,
            fingers_matched=matched,
            face_alone_threshold=face_alone,
        )
        if reason is not None:
            out.candidate = cid
            out.add(
                "duplicates_1toN",
                "review",
                N_("possible second identity: %(why)s"),
                params={"why": reason},
                score=score,
                threshold=face_result.threshold if face_result else None,
                details={
                    "candidate_application_id": str(cid),
                    "fingers_compared": compared,
                    "fingers_matched": matched,
                    "face_alone_threshold": face_alone,
                },
            )
            return
    out.add(
        "duplicates_1toN",
        "pass",
        details={"gallery_size": matcher.indexed(), "face_alone_threshold": face_alone, **best},
    )


def duplicate_reason(
    *,
    face_score: float | None,
    face_threshold: float | None,
    fingers_compared: list[int],
    fingers_matched: list[int],
    face_alone_threshold: float = FACE_ALONE_DUPLICATE_THRESHOLD,
) -> Msgid | None:
    """Why a face-shortlisted candidate is a possible second identity, or None.

    The face search shortlists; fingerprints confirm, as the issue asks. Face alone cannot decide
    at national scale: at the 1:1 threshold (FMR ~1e-3) a 1M gallery holds about a thousand
    strangers above it for every query (measured: median 855-1,202 fillers per probe in
    `benchmarks/biometrics_bench.py`'s galleries), so a face-only rule would hold every
    application. So: any matching finger holds the application. Where no finger can be compared
    (no prints on one side, or no common position), a face match holds it. Where fingers were
    compared and none matched, only a face score of `face_alone_threshold` or more still holds
    it (an identical twin, prints that are not the applicant's own, or prints that failed to
    match): `face_alone_duplicate_threshold(gallery size)`, 0.60 at national scale, lower for
    a small gallery, where strangers that high are rarer.
    """
    if fingers_matched:
        if _face_match(face_score, face_threshold):
            return N_("fingerprints match another identity and so does the face")
        return N_("fingerprints match another identity")
    if not fingers_compared:
        if _face_match(face_score, face_threshold):
            return N_(
                "the face matches another identity and no fingerprint can confirm or refute it"
            )
        return None
    if face_score is not None and face_score >= face_alone_threshold:
        return N_("the face matches another identity strongly, but the fingerprints do not")
    return None


def _no_finger_matches(count: int) -> Msgid:
    """Every finger compared missed (`count` of them), in words that fit the count."""
    if count == 0:
        return N_("none of the fingerprints on file could be compared")
    if count == 1:
        return N_("the one finger compared does not match the file")
    return N_("none of the %(count)s fingers compared matches the file")


def _face_match(score: float | None, threshold: float | None) -> bool:
    return score is not None and threshold is not None and score >= threshold


def _add_to_gallery(session: Session, app: Applicant, captured: CapturedBiometrics) -> None:
    # Rows enter the gallery only under its lock (see _check_duplicates).
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GALLERY_LOCK})
    if session.execute(
        select(IdentityTemplate.id).where(IdentityTemplate.application_id == app.application_id)
    ).first():
        return
    face, fingers = captured.face, captured.fingers
    session.add(
        IdentityTemplate(
            application_id=app.application_id,
            registry_ref=app.registry_ref,
            face=seal(face, aad=face_aad(app.application_id)) if face else None,
            fingers=seal(
                json.dumps(
                    {str(p): base64.b64encode(t).decode() for p, t in fingers.items()}
                ).encode(),
                aad=fingers_aad(app.application_id),
            ),
        )
    )
    session.flush()


def run_checks(
    session: Session,
    *,
    applicant: Applicant,
    captured: CapturedBiometrics,
    run: int,
    registry: ImmigrationRegistry,
    gallery: Gallery,
) -> VerificationOutcome:
    """One verification run: the checks, kept as this run's rows; a held application's review;
    a verified or held identity's templates in the duplicate gallery. The application itself is
    enrolment's to change (`enrolment.service.run_verification`)."""
    out = Outcome()
    record = registry.find_by_passport(applicant.passport_number)
    _check_documents(applicant, record, out)
    _check_declared_documents(applicant, record, out)
    on_file = registry.biometrics_on_file(record.person_ref) if record else BiometricsOnFile(None)
    _check_biometrics(
        gallery.matcher, captured.face, captured.fingers, on_file, out, level=applicant.level
    )
    _check_duplicates(session, gallery, applicant, captured.face, captured.fingers, out)
    for check in out.checks:
        session.add(
            ApplicationCheck(
                application_id=applicant.application_id,
                run=run,
                name=check.name,
                outcome=check.outcome,
                reason=check.reason,
                score=check.score,
                threshold=check.threshold,
                details=check.details,
            )
        )
    session.flush()
    outcome = VerificationOutcome(
        checks=tuple(out.checks), biometrics_on_file=on_file.complete, candidate=out.candidate
    )
    if outcome.decision == "rejected":
        return outcome
    if outcome.decision == "in_review":
        review = Review(
            application_id=applicant.application_id,
            office_code=applicant.office_code,
            reasons=outcome.named("review"),
            candidate_application_id=out.candidate,
        )
        session.add(review)
        session.flush()
        outcome = VerificationOutcome(
            checks=outcome.checks,
            biometrics_on_file=outcome.biometrics_on_file,
            candidate=outcome.candidate,
            review_id=review.id,
        )
    _add_to_gallery(session, applicant, captured)
    return outcome


def close_review(
    session: Session,
    review_id: uuid.UUID,
    *,
    decision: str,
    note: str,
    actor: Actor,
) -> ClosedReview:
    """The supervisor's decision on the review (audited); enrolment applies it to the
    application (`enrolment.reviews.decide_review`) in the same transaction."""
    review = session.execute(
        select(Review).where(Review.id == review_id).with_for_update()
    ).scalar_one_or_none()
    if review is None:
        raise NotFound("no such review", code="REVIEW_NOT_FOUND")
    if not _office_may_see(review, actor.office):
        raise NotFound("no such review", code="REVIEW_NOT_FOUND")
    if review.status != "open":
        raise Conflict("this review is already decided", code="REVIEW_DECIDED")
    if decision not in ("approve", "reject"):
        raise ValidationFailed("decision is approve or reject", code="INVALID_DECISION")
    review.status, review.decision, review.note = "decided", decision, note
    review.decided_by, review.decided_at = actor.id, clock.now()
    audit.record(session, actor, f"review.{decision}", "review", review.id, reason=note)
    return ClosedReview(
        review_id=review.id,
        application_id=review.application_id,
        decision="approve" if decision == "approve" else "reject",
        note=note,
    )


def _office_may_see(review: Review, office: str | None) -> bool:
    """A review is its office's; one of a registration in the app (no office) is anyone's."""
    return review.office_code is None or review.office_code == office


def review_of_office(session: Session, review_id: uuid.UUID, office: str | None) -> Review:
    """A review only its office's supervisor may see or decide (any supervisor: the app's)."""
    review = session.get(Review, review_id)
    if review is None or not _office_may_see(review, office):
        raise NotFound("no such review", code="REVIEW_NOT_FOUND")
    return review


def open_reviews(session: Session, office: str | None) -> list[Review]:
    return repository.open_reviews(session, office)


def checks_of(
    session: Session, application_id: uuid.UUID, run: int, *, language: str
) -> list[dict[str, Any]]:
    """The run's checks, each reason in `language` (`reasons.reason_in`: a row from before
    reasons were messages shows the English it kept)."""
    return [
        {
            "name": c.name,
            "outcome": c.outcome,
            "reason": reasons.reason_in(language, c.reason, c.details),
            "score": c.score,
            "threshold": c.threshold,
        }
        for c in repository.latest_checks(session, application_id, run)
    ]


def failures_in(
    session: Session, application_id: uuid.UUID, run: int, *, language: str
) -> str | None:
    """The refusal of a run whose checks failed, in `language`; None when a failed check has
    no message (a run from before reasons were messages: its English refusal stands)."""
    failed = [
        c for c in repository.latest_checks(session, application_id, run) if c.outcome == "fail"
    ]
    if not failed or not all(reasons.has_message(c.details) for c in failed):
        return None
    return reasons.failures(
        language, [(c.name, reasons.reason_in(language, c.reason, c.details)) for c in failed]
    )


def declared_document_states(
    session: Session, application_id: uuid.UUID, run: int
) -> dict[str, tuple[str, dt.datetime]]:
    """What the run found of each declared document: {kind: (state, when it was checked)}."""
    check = repository.named_check(session, application_id, run, "declared_documents")
    if check is None:
        return {}
    states = check.details.get("states", {})
    return {kind: (str(state), check.created_at) for kind, state in states.items()}


def withdraw_from_gallery(session: Session, application_id: uuid.UUID) -> None:
    """A cancelled or refused application leaves the duplicate gallery."""
    repository.deactivate_template(session, application_id)
