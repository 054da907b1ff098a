"""The officer's procedure for one TK01 application."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eid.authority.schemas import (
    AccountDecisionMessage,
    AccountRequestMessage,
    HolderDocument,
    account_request_aad,
)
from eid.authority.service import sign_request, verify_decision
from eid.biometrics import fingerprint_positions
from eid.biometrics.ports import BiometricMatcher
from eid.calendar.service import legal_deadline
from eid.core import audit, clock, jobs
from eid.core.audit import Actor
from eid.core.crypto import seal, unseal
from eid.core.errors import BiometricError, Conflict, Forbidden, NotFound, ValidationFailed
from eid.core.listen import listening
from eid.enrolment import consent as consent_texts
from eid.enrolment import phone
from eid.enrolment.models import Application, Capture
from eid.enrolment.notices import REFUSAL_TEXT, notify_rejection
from eid.enrolment.rules import GUARDIAN_AGE, age_on, check_tk01
from eid.enrolment.schemas import (
    TK01,
    ApplicationOut,
    CaptureSummary,
    Check,
    ConsentIn,
    FingerException,
    QualityOut,
    SubmissionOut,
)
from eid.enrolment.state import STATUS_CHANNEL, require_status, transition
from eid.i18n import N_, gettext
from eid.notify.service import notify
from eid.registry.documents import KINDS as document_kinds
from eid.registry.ports import ImmigrationRegistry
from eid.verification import service as verification
from eid.verification.gallery import Gallery
from eid.verification.schemas import Applicant, CapturedBiometrics, VerificationOutcome

MIN_FINGERS = 2
IMMIGRATION = Actor(kind="system", id="immigration", role="immigration")


def capture_aad(app_id: uuid.UUID, kind: str, position: int, part: str) -> bytes:
    """The one definition of a capture blob's additional data: sealing and unsealing both use it
    (two spellings that drifted apart would fail every decryption)."""
    return f"capture:{app_id}:{kind}:{position}:{part}".encode()


def find_by_idempotency_key(session: Session, key: str, *, actor: Actor) -> Application | None:
    """The application an earlier create with this key made (same officer only)."""
    app = session.execute(
        select(Application).where(Application.idempotency_key == f"{actor.id}:{key}")
    ).scalar_one_or_none()
    return app


def create_application(
    session: Session,
    form: TK01,
    *,
    actor: Actor,
    registry: ImmigrationRegistry,
    idempotency_key: str | None = None,
) -> Application:
    form = check_tk01(form, clock.today_vn())
    record = registry.find_by_passport(form.passport.number)
    if record is None:
        raise ValidationFailed(
            "the immigration database has no person with this passport",
            code="PASSPORT_NOT_IN_REGISTRY",
            details={"field": "passport.number"},
        )
    app = Application(
        id=uuid.uuid4(),
        office_code=actor.office,
        created_by=uuid.UUID(actor.id),
        status="draft",
        full_name=form.full_name,
        date_of_birth=form.date_of_birth,
        sex=form.sex,
        nationality=form.nationality,
        passport=form.passport.model_dump(mode="json", exclude_none=True),
        residence_card=form.residence_card.model_dump(mode="json"),
        address=form.address,
        phone=form.phone,
        email=form.email,
        language=form.language,
        integrations=form.integrations,
        guardian=form.guardian.model_dump(mode="json") if form.guardian else None,
        registry_ref=record.person_ref,
        idempotency_key=f"{actor.id}:{idempotency_key}" if idempotency_key else None,
    )
    insert_application(session, app)
    audit.record(session, actor, "application.draft", "application", app.id)
    return app


def insert_application(session: Session, app: Application) -> None:
    """A new application, office or app: a clash on its Idempotency-Key or with the person's
    open application is a 409 with its own code, and nothing is written."""
    try:
        with session.begin_nested():
            session.add(app)
            session.flush()
    except IntegrityError as exc:
        if "uq_applications_idempotency_key" in str(exc.orig):
            raise Conflict(
                "another request with this Idempotency-Key created the application; retry it",
                code="IDEMPOTENCY_KEY_IN_USE",
            ) from None
        if "uq_applications_open_passport" in str(exc.orig):
            raise Conflict(
                "this person already has an open application",
                code="APPLICATION_ALREADY_OPEN",
            ) from None
        raise


def _load(session: Session, app_id: uuid.UUID, actor: Actor, *, lock: bool = True) -> Application:
    stmt = select(Application).where(Application.id == app_id)
    if lock:
        stmt = stmt.with_for_update()
    app = session.execute(stmt).scalar_one_or_none()
    if app is None:
        raise NotFound("no such application", code="APPLICATION_NOT_FOUND")
    # Officers and supervisors see their own office's applications; auditors see all.
    if actor.kind == "officer" and actor.role != "auditor" and app.office_code != actor.office:
        raise Forbidden("this application belongs to another office", code="OTHER_OFFICE")
    return app


def view(session: Session, app_id: uuid.UUID, *, actor: Actor, language: str) -> ApplicationOut:
    """The application as an officer reads it: check reasons and refusal in `language`."""
    app = _load(session, app_id, actor, lock=False)
    audit.record(session, actor, "application.read", "application", app.id)
    captures = session.execute(
        select(Capture)
        .where(Capture.application_id == app.id)
        .order_by(Capture.kind, Capture.position)
    ).scalars()
    return ApplicationOut(
        id=app.id,
        status=app.status,
        office_code=app.office_code,
        level=app.level,
        channel=app.channel,
        full_name=app.full_name,
        date_of_birth=app.date_of_birth,
        nationality=app.nationality,
        passport=app.passport,
        residence_card=app.residence_card,
        address=app.address,
        phone=app.phone,
        email=app.email,
        language=app.language,
        guardian=app.guardian,
        integrations=app.integrations or {},
        biometrics_on_file=app.biometrics_on_file,
        checks=[
            Check(**c)
            for c in verification.checks_of(
                session, app.id, app.verification_run, language=language
            )
        ],
        captures=[
            CaptureSummary(
                kind=c.kind,
                position=c.position,
                acceptable=c.acceptable,
                exception_reason=c.exception_reason,
                quality=c.quality,
            )
            for c in captures
        ],
        phone_verified=app.phone_verified_at is not None,
        consent_by=app.consent_by,
        submitted_at=app.submitted_at,
        legal_deadline=app.legal_deadline,
        eid_number=app.eid_number,
        rejection_code=app.rejection_code,
        rejection_reason=_rejection_reason(session, app, language),
        created_at=app.created_at,
    )


def _rejection_reason(session: Session, app: Application, language: str) -> str | None:
    """The refusal in the officer's language, as `registration.rejection_reason` gives it to the
    holder: failed checks from their messages, a known refusal from the catalogue; anything else
    (a supervisor's note) as written, and so is a refusal kept before reasons were messages."""
    if app.rejection_code == "VERIFICATION_FAILED":
        failed = verification.failures_in(session, app.id, app.verification_run, language=language)
        if failed is not None:
            return failed
    known = REFUSAL_TEXT.get(app.rejection_code or "")
    if known is not None and app.rejection_reason == known:
        return gettext(language, known)
    return app.rejection_reason


def _store_capture(
    session: Session,
    app: Application,
    *,
    kind: str,
    position: int,
    image: bytes | None,
    template: bytes | None,
    quality: dict[str, Any],
    acceptable: bool,
    exception_reason: str | None = None,
) -> None:
    capture = session.execute(
        select(Capture).where(
            Capture.application_id == app.id, Capture.kind == kind, Capture.position == position
        )
    ).scalar_one_or_none()
    if capture is None:
        capture = Capture(application_id=app.id, kind=kind, position=position)
        session.add(capture)
    capture.image = seal(image, aad=capture_aad(app.id, kind, position, "image")) if image else None
    capture.template = (
        seal(template, aad=capture_aad(app.id, kind, position, "template")) if template else None
    )
    capture.quality = quality
    capture.acceptable = acceptable
    capture.exception_reason = exception_reason
    session.flush()


# After this many attempts the officer keeps a usable capture of low quality (as enrolment
# systems do: an applicant whose prints are worn cannot do better), flagged in its quality.
MAX_ATTEMPTS = 3
UNUSABLE_PORTRAIT = {"NO_FACE", "MULTIPLE_FACES", "UNREADABLE_IMAGE"}
UNUSABLE_FINGERPRINT = {"NO_FINGERPRINT", "TOO_FEW_MINUTIAE", "UNREADABLE_IMAGE"}


def _retake_rule(
    session: Session,
    app: Application,
    kind: str,
    position: int,
    report: Any,
    *,
    usable: bool,
) -> tuple[bool, dict[str, Any]]:
    previous = session.execute(
        select(Capture).where(
            Capture.application_id == app.id, Capture.kind == kind, Capture.position == position
        )
    ).scalar_one_or_none()
    attempts = 1
    if previous is not None and not previous.acceptable and not previous.exception_reason:
        attempts = int(previous.quality.get("attempts", 1)) + 1
    kept = not report.acceptable and usable and attempts >= MAX_ATTEMPTS
    quality = {
        "score": report.score,
        "issues": report.issues,
        "metrics": report.metrics,
        "attempts": attempts,
        "accepted_after_retakes": kept,
    }
    return bool(report.acceptable) or kept, quality


def image_kind(image: bytes) -> None:
    if not (image.startswith(b"\xff\xd8") or image.startswith(b"\x89PNG\r\n\x1a\n")):
        raise ValidationFailed("the image must be JPEG or PNG", code="IMAGE_FORMAT")
    if len(image) > 10 * 1024 * 1024:
        raise ValidationFailed("the image is larger than 10 MiB", code="IMAGE_TOO_LARGE")


def _after_capture(session: Session, app: Application, actor: Actor) -> None:
    """draft <-> captured follows what is on the application: a portrait and enough fingers."""
    captures = (
        session.execute(select(Capture).where(Capture.application_id == app.id)).scalars().all()
    )
    portrait_ok = any(c.kind == "portrait" and c.acceptable for c in captures)
    fingers_ok = sum(1 for c in captures if c.kind == "fingerprint" and c.acceptable)
    excepted = sum(1 for c in captures if c.kind == "fingerprint" and c.exception_reason)
    # Two good fingers, or every finger accounted for (printed or excepted) with at least one.
    enough = fingers_ok >= MIN_FINGERS or (fingers_ok >= 1 and fingers_ok + excepted == 10)
    complete = portrait_ok and (enough or app.level == 1)  # Level 1: the selfie alone
    if complete and app.status == "draft":
        transition(session, app, "captured", actor=actor, reason="portrait and fingerprints taken")
    elif not complete and app.status == "captured":
        transition(session, app, "draft", actor=actor, reason="a capture was replaced")


def capture_portrait(
    session: Session, app_id: uuid.UUID, image: bytes, *, actor: Actor, matcher: BiometricMatcher
) -> QualityOut:
    app = _load(session, app_id, actor)
    return take_portrait(session, app, image, actor=actor, matcher=matcher)


def take_portrait(
    session: Session, app: Application, image: bytes, *, actor: Actor, matcher: BiometricMatcher
) -> QualityOut:
    """The portrait of a loaded application (the officer's capture, or the app's selfie)."""
    require_status(app, "draft", "captured", action=N_("capture a portrait for"))
    image_kind(image)
    report = matcher.portrait_quality(image)
    codes = {issue["code"] for issue in report.issues}
    template = None
    if not codes & UNUSABLE_PORTRAIT:
        try:
            template = matcher.face_template(image)
        except BiometricError as exc:
            if report.acceptable:
                raise ValidationFailed(exc.msgid, code=exc.code, params=exc.params) from None
    acceptable, quality = _retake_rule(
        session, app, "portrait", 0, report, usable=template is not None
    )
    _store_capture(
        session,
        app,
        kind="portrait",
        position=0,
        image=image,
        template=template if acceptable else None,
        quality=quality,
        acceptable=acceptable,
    )
    audit.record(
        session,
        actor,
        "application.portrait_captured",
        "application",
        app.id,
        details={"acceptable": acceptable, "attempts": quality["attempts"]},
    )
    _after_capture(session, app, actor)
    return QualityOut(
        kind="portrait",
        position=0,
        acceptable=acceptable,
        accepted_after_retakes=quality["accepted_after_retakes"],
        attempts=quality["attempts"],
        score=report.score,
        issues=report.issues,
        metrics=report.metrics,
        application_status=app.status,
    )


def _check_position(position: int) -> None:
    if position not in fingerprint_positions:
        raise ValidationFailed(
            "finger positions are ISO/IEC 19794 codes 1 (right thumb) to 10 (left little)",
            code="INVALID_FINGER_POSITION",
            details={"position": position},
        )


def capture_fingerprint(
    session: Session,
    app_id: uuid.UUID,
    position: int,
    image: bytes,
    *,
    actor: Actor,
    matcher: BiometricMatcher,
) -> QualityOut:
    _check_position(position)
    app = _load(session, app_id, actor)
    require_status(app, "draft", "captured", action=N_("capture fingerprints for"))
    image_kind(image)
    try:
        report, extracted = matcher.fingerprint_capture(image, position)
    except BiometricError as exc:
        raise ValidationFailed(exc.msgid, code=exc.code, params=exc.params) from None
    codes = {issue["code"] for issue in report.issues}
    usable = bool(extracted) and not codes & UNUSABLE_FINGERPRINT
    acceptable, quality = _retake_rule(session, app, "fingerprint", position, report, usable=usable)
    template = extracted if acceptable else None
    _store_capture(
        session,
        app,
        kind="fingerprint",
        position=position,
        image=image,
        template=template,
        quality=quality,
        acceptable=acceptable,
    )
    audit.record(
        session,
        actor,
        "application.fingerprint_captured",
        "application",
        app.id,
        details={"position": position, "acceptable": acceptable, "attempts": quality["attempts"]},
    )
    _after_capture(session, app, actor)
    return QualityOut(
        kind="fingerprint",
        position=position,
        acceptable=acceptable,
        accepted_after_retakes=quality["accepted_after_retakes"],
        attempts=quality["attempts"],
        score=report.score,
        issues=report.issues,
        metrics=report.metrics,
        application_status=app.status,
    )


def record_finger_exception(
    session: Session, app_id: uuid.UUID, position: int, body: FingerException, *, actor: Actor
) -> QualityOut:
    """A missing or injured finger is recorded by the officer, never silently skipped."""
    _check_position(position)
    app = _load(session, app_id, actor)
    require_status(app, "draft", "captured", action=N_("record a finger exception for"))
    _store_capture(
        session,
        app,
        kind="fingerprint",
        position=position,
        image=None,
        template=None,
        quality={"note": body.note or ""},
        acceptable=False,
        exception_reason=body.reason,
    )
    audit.record(
        session,
        actor,
        "application.finger_exception",
        "application",
        app.id,
        reason=body.reason,
        details={"position": position},
    )
    _after_capture(session, app, actor)
    return QualityOut(
        kind="fingerprint",
        position=position,
        acceptable=False,
        score=0.0,
        issues=[{"code": body.reason, "message": N_("recorded as an exception")}],
        metrics={},
        application_status=app.status,
    )


async def wait_for_verification(app_id: uuid.UUID, *, timeout: float) -> str | None:
    """The application's status once the worker has moved it on from `captured`, or None if it
    is still there after `timeout` seconds. Waits on PostgreSQL LISTEN/NOTIFY: no thread and no
    pooled connection is held meanwhile, and the answer comes at the worker's commit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with listening(STATUS_CHANNEL) as conn:
        while True:
            # Read after LISTEN is in place: a commit in between is seen here or notified.
            row = await (
                await conn.execute("SELECT status FROM applications WHERE id = %s", (app_id,))
            ).fetchone()
            status = str(row[0]) if row else None
            if status != "captured":
                return status
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            async for notice in conn.notifies(timeout=remaining):
                if notice.payload == str(app_id):
                    break


def request_verification(session: Session, app_id: uuid.UUID, *, actor: Actor) -> Application:
    return queue_verification(session, _load(session, app_id, actor), actor=actor)


def queue_verification(session: Session, app: Application, *, actor: Actor) -> Application:
    require_status(app, "captured", action=N_("verify"))
    app.verification_run += 1
    jobs.enqueue(
        session,
        "verification.run",
        {"application_id": str(app.id), "run": app.verification_run, "actor": actor.__dict__},
        key=f"verify:{app.id}:{app.verification_run}",
    )
    audit.record(session, actor, "application.verification_requested", "application", app.id)
    return app


def _applicant(app: Application) -> Applicant:
    return Applicant(
        application_id=app.id,
        office_code=app.office_code,
        registry_ref=app.registry_ref,
        full_name=app.full_name,
        date_of_birth=app.date_of_birth,
        sex=app.sex,
        nationality=app.nationality,
        passport_number=app.passport["number"],
        passport_issuing_state=app.passport["issuing_state"],
        card_number=app.residence_card["number"],
        card_kind=app.residence_card["kind"],
        level=app.level,
        documents=_declared(app),
    )


def _declared(app: Application) -> dict[str, str]:
    """The known kinds of `integrations` (an application saved before they were checked may
    hold others: those are neither verified nor carried to the account)."""
    return {k: str(v) for k, v in (app.integrations or {}).items() if k in document_kinds}


def _captured(session: Session, app: Application) -> CapturedBiometrics:
    face: bytes | None = None
    fingers: dict[int, bytes] = {}
    for c in session.execute(select(Capture).where(Capture.application_id == app.id)).scalars():
        if c.template is None:
            continue
        template = unseal(c.template, aad=capture_aad(app.id, c.kind, c.position, "template"))
        if c.kind == "portrait":
            face = template
        else:
            fingers[c.position] = template
    return CapturedBiometrics(face=face, fingers=fingers)


def run_verification(
    session: Session,
    app_id: uuid.UUID,
    run: int,
    *,
    actor: Actor,
    registry: ImmigrationRegistry,
    gallery: Gallery,
) -> str:
    """The verification job: the application's data and captures go to verification, whose
    outcome this applies. Idempotent: a run already applied (or superseded) does nothing."""
    app = session.execute(
        select(Application).where(Application.id == app_id).with_for_update()
    ).scalar_one_or_none()
    if app is None or app.status != "captured" or app.verification_run != run:
        return app.status if app else "missing"
    outcome = verification.run_checks(
        session,
        applicant=_applicant(app),
        captured=_captured(session, app),
        run=run,
        registry=registry,
        gallery=gallery,
    )
    _apply_verification(session, app, outcome, actor=actor)
    return app.status


def _apply_verification(
    session: Session, app: Application, outcome: VerificationOutcome, *, actor: Actor
) -> None:
    app.biometrics_on_file = outcome.biometrics_on_file
    if outcome.decision == "rejected":
        app.rejection_code = "VERIFICATION_FAILED"
        app.rejection_reason = outcome.rejection_reason
        transition(session, app, "rejected", actor=actor, reason=app.rejection_reason)
        notify_rejection(session, app)
    elif outcome.decision == "in_review":
        reasons = ", ".join(outcome.named("review"))
        transition(session, app, "in_review", actor=actor, reason=reasons)
    else:
        transition(session, app, "verified", actor=actor, reason="all checks passed")
        forward_registration(session, app, actor=actor)


def forward_registration(session: Session, app: Application, *, actor: Actor) -> None:
    """A Level-1 registration goes on by itself once verified (by the checks or a supervisor):
    its holder consented before the selfie and submitted it in the app, so nobody is left to
    press a button (`registration`'s docstring has the order)."""
    if app.channel != "app" or app.status != "verified" or app.consented_at is None:
        return
    transition(session, app, "consented", actor=actor, reason="consent given in the app")
    transition(session, app, "submitted", actor=actor, reason="sent to the e-ID authority")
    _send_account_request(session, app)


def send_phone_code(session: Session, app_id: uuid.UUID, *, actor: Actor) -> tuple[str, str]:
    """Returns (code, masked number); only the masked number leaves the server."""
    app = _load(session, app_id, actor)
    return phone.send_code(session, app, actor=actor), phone.masked(app.phone)


def confirm_phone_code(session: Session, app_id: uuid.UUID, code: str, *, actor: Actor) -> None:
    app = _load(session, app_id, actor)
    phone.confirm_code(session, app, code, actor=actor)


def record_consent(
    session: Session, app_id: uuid.UUID, body: ConsentIn, *, actor: Actor
) -> Application:
    app = _load(session, app_id, actor)
    require_status(app, "verified", action=N_("record consent for"))
    keep_consent(app, body)
    transition(session, app, "consented", actor=actor, reason=f"consent by {body.by}")
    return app


def keep_consent(app: Application, body: ConsentIn) -> None:
    """Check who consents to which text in which language, and keep it on the application
    (the caller moves the state: at once at the office, after verification in the app)."""
    # TK01 carries a mobile number the office has verified (DESIGN.md §3: "phone (E.164,
    # verified)"); the SMS code endpoints let the office do that verification in eid itself,
    # and `phone_verified` in the application shows which way it went. Consent does not wait
    # for it, so offices that verify at the counter by other means keep the public contract.
    # The application's language without texts of its own reads English (as the text endpoint
    # shows it); a language named explicitly must be one the text was actually shown in.
    language = consent_texts.language_for(body.language or app.language)
    unknown_language = body.language is not None and not consent_texts.has_text(body.language)
    version = body.text_version or consent_texts.current_version(app.level)
    other_level = consent_texts.LEVELS.get(version) != app.level
    if unknown_language or other_level or consent_texts.text_for(version, language) is None:
        raise ValidationFailed(
            "unknown consent text version or language",
            code="CONSENT_TEXT_UNKNOWN",
            details={"current_version": consent_texts.current_version(app.level)},
        )
    minor = age_on(app.date_of_birth, clock.today_vn()) < GUARDIAN_AGE
    if (minor or app.guardian) and body.by != "guardian":
        raise ValidationFailed(
            "the guardian gives consent for a child or a represented person",
            code="GUARDIAN_CONSENT_REQUIRED",
        )
    if body.by == "guardian" and not app.guardian:
        raise ValidationFailed("this application has no guardian", code="NO_GUARDIAN")
    app.consent_by = body.by
    app.consent_text_version = version
    app.consent_language = language
    app.consented_at = clock.now()


def submit(session: Session, app_id: uuid.UUID, *, actor: Actor) -> SubmissionOut:
    app = _load(session, app_id, actor)
    require_status(app, "consented", action=N_("submit"))
    assert app.registry_ref is not None
    on_file = bool(app.biometrics_on_file)
    now = clock.now()
    app.submitted_at = now
    app.submitted_on = clock.today_vn()
    app.legal_deadline = legal_deadline(session, app.submitted_on, on_file)
    days = 3 if on_file else 7
    transition(session, app, "submitted", actor=actor, reason="sent to the e-ID authority")
    _send_account_request(session, app)
    notify(
        session,
        recipient_type="application",
        recipient_id=app.id,
        channels={"sms": app.phone, "email": app.email},
        language=app.language,
        template="application_received",
        params={"legal_deadline": app.legal_deadline.isoformat(), "full_name": app.full_name},
        key=f"application-received:{app.id}",
    )
    return SubmissionOut(
        id=app.id, status=app.status, legal_deadline=app.legal_deadline, working_days=days
    )


def _send_account_request(session: Session, app: Application) -> None:
    portrait_row = session.execute(
        select(Capture).where(Capture.application_id == app.id, Capture.kind == "portrait")
    ).scalar_one()
    assert portrait_row.image is not None
    portrait = unseal(portrait_row.image, aad=capture_aad(app.id, "portrait", 0, "image"))
    fingers = {
        str(c.position): base64.b64encode(
            unseal(c.template, aad=capture_aad(app.id, "fingerprint", c.position, "template"))
        ).decode()
        for c in session.execute(
            select(Capture).where(Capture.application_id == app.id, Capture.kind == "fingerprint")
        ).scalars()
        if c.template is not None
    }
    message = AccountRequestMessage(
        request_id=f"app:{app.id}",
        application_id=str(app.id),
        registry_ref=app.registry_ref or "",
        level=1 if app.level == 1 else 2,
        full_name=app.full_name,
        date_of_birth=app.date_of_birth,
        sex=app.sex,
        nationality=app.nationality,
        passport={k: v for k, v in app.passport.items() if k != "mrz"},
        residence_card=app.residence_card,
        phone=app.phone,
        email=app.email,
        language=app.language,
        guardian=app.guardian,
        documents=_holder_documents(session, app),
        portrait_sha256=hashlib.sha256(portrait).hexdigest(),
        sent_at=clock.now(),
    )
    # The request names the person (name, birth date, documents, phone, email): it rides the
    # queue sealed like the biometrics, and only its id is readable in the jobs table.
    sealed_message = seal(
        json.dumps(message.model_dump(mode="json")).encode(),
        aad=account_request_aad(message.request_id, "message"),
    )
    jobs.enqueue(
        session,
        "authority.account_request",
        {
            "request_id": message.request_id,
            "message": base64.b64encode(sealed_message).decode(),
            "signature": sign_request(message),
            "portrait": base64.b64encode(
                seal(portrait, aad=account_request_aad(message.request_id, "portrait"))
            ).decode(),
            # Level 1 takes no fingerprints: the account has none until an upgrade.
            "fingerprint_templates": base64.b64encode(
                seal(
                    json.dumps(fingers).encode(),
                    aad=account_request_aad(message.request_id, "fingerprint_templates"),
                )
            ).decode()
            if app.level == 2
            else None,
        },
        key=f"account-request:{app.id}",
    )


def _holder_documents(session: Session, app: Application) -> list[HolderDocument]:
    """Each declared document with what verification found: `verified` or `mismatch` against
    the immigration database's record, else only `declared` (never checked with its issuer)."""
    found = verification.declared_document_states(session, app.id, app.verification_run)
    documents = []
    for kind, number in sorted(_declared(app).items()):
        state, checked_at = found.get(kind, ("declared", None))
        documents.append(
            HolderDocument(
                kind=kind,
                number=number,
                state=state,
                checked_at=checked_at if state != "declared" else None,
            )
        )
    return documents


def cancel(session: Session, app_id: uuid.UUID, reason: str, *, actor: Actor) -> Application:
    app = _load(session, app_id, actor)
    transition(session, app, "cancelled", actor=actor, reason=reason)
    verification.withdraw_from_gallery(session, app.id)
    return app


def apply_account_decision(
    session: Session, message: AccountDecisionMessage, signature: str
) -> None:
    """The e-ID authority's signed answer arrives; applied once whatever the number of
    deliveries. A decision whose signature does not verify changes nothing (the job fails)."""
    verify_decision(message, signature)
    app = session.execute(
        select(Application)
        .where(Application.id == uuid.UUID(message.application_id))
        .with_for_update()
    ).scalar_one_or_none()
    if app is None or app.status != "submitted":
        return
    app.decided_at = clock.now()
    if message.outcome == "issued":
        app.eid_number = message.eid_number
        transition(session, app, "issued", actor=IMMIGRATION, reason="account created")
    else:
        app.rejection_code = message.refusal_code or "REFUSED"
        app.rejection_reason = REFUSAL_TEXT.get(app.rejection_code, "refused")
        transition(session, app, "rejected", actor=IMMIGRATION, reason=app.rejection_code)
        verification.withdraw_from_gallery(session, app.id)
        notify_rejection(session, app)


def purge_refused_images(session: Session, *, older_than_days: int) -> int:
    """Biometric images and templates of refused or cancelled applications are deleted after
    the retention period; the record of what happened stays."""
    cutoff = clock.now() - timedelta(days=older_than_days)
    ids = [
        row[0]
        for row in session.execute(
            select(Application.id).where(
                Application.status.in_(("rejected", "cancelled")), Application.updated_at < cutoff
            )
        )
    ]
    if not ids:
        return 0
    result = session.execute(
        update(Capture)
        .where(Capture.application_id.in_(ids), Capture.image.is_not(None))
        .values(image=None, template=None)
    )
    purged = int(getattr(result, "rowcount", 0) or 0)
    for app_id in ids:
        verification.withdraw_from_gallery(session, app_id)
    if purged:
        audit.record(
            session,
            Actor.system("retention"),
            "captures.purged",
            "application_batch",
            "refused",
            details={"captures": purged, "older_than_days": older_than_days},
        )
    return purged


def overdue(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    stmt = select(Application).where(
        Application.status == "submitted", Application.legal_deadline < clock.today_vn()
    )
    if actor.role != "auditor":
        # The office's own, and the app's registrations (no office), which any supervisor
        # may take up as they may review them.
        stmt = stmt.where(
            or_(Application.office_code == actor.office, Application.office_code.is_(None))
        )
    rows = session.execute(stmt.order_by(Application.legal_deadline)).scalars().all()
    return [
        {
            "id": str(a.id),
            "office_code": a.office_code,
            "legal_deadline": a.legal_deadline,
            "submitted_at": a.submitted_at,
            "status": a.status,
        }
        for a in rows
    ]
