"""Level-1 registration in the app: a foreign resident alone, on a phone (DESIGN.md §1, Level 1).

It is an application like TK01 (`level` 1, `channel` 'app', no office, no officer) and goes
through the same states. The order suits someone alone with a phone, and the law: biometric
data is processed only after consent, so consent comes before the selfie.

1. `POST /api/v1/registrations`: passport data typed (number, type, issuing state, dates) and
   the two MRZ lines (check digits checked, and cross-checked with the typed data), residence
   card, address (optional), phone (`0912 345 678` is read as +84912345678; only a Vietnamese
   number), email (optional), language; `guardian` for anyone under 14 (under 6: Level 1 is the
   only level), whose own phone is the registration's. The person must be in the immigration
   database and hold no e-ID account. → 201 with the application (`draft`) and a one-time
   `registration_token` (24 h, kept hashed) that every further call sends as
   `X-Registration-Token`. A new registration for the same passport cancels one that was never
   submitted (a lost phone, a closed tab); a submitted one, or an office application, blocks it.
2. `POST .../phone-verification` sends a 6-digit code by SMS; `POST .../phone-verification/
   confirmation` `{"code"}` checks it (5 tries, 10 minutes).
3. `GET /api/v1/consent-texts/2026-11-level1?language=..` shows the Level-1 text;
   `POST .../consent` `{"by": "applicant"|"guardian", "language"}` keeps it (status unchanged).
4. `PUT .../selfie` (JPEG/PNG bytes): refused with `SELFIE_REUSED` when it is the registry's
   photo or a near copy of it (pHash within 8 bits, or a face score of 0.93 or more, above any
   two live captures of one person in the shared set: at most 0.89), or a near copy of any
   earlier selfie (pHash; only the hash of each selfie is kept); else the portrait quality
   report with advice in the caller's language. Acceptable: `captured`.
5. `POST .../submission`: the legal deadline (1 working day) starts and the checks run as a
   job: documents against the immigration database, the face 1:1 against its photo (no photo:
   review), 1:N duplicates as for TK01. Verified (at once, or by any supervisor's review:
   the review has no office), the application moves on by itself: `consented`, `submitted`,
   a signed account request for a Level-1 account to the e-ID authority; its decision makes it
   `issued` (the account's activation code goes by SMS, email and the app inbox) or `rejected`.
6. `GET /api/v1/registrations/{id}` → `{"id", "status", "checks", "legal_deadline",
   "eid_number", "rejection_code", "rejection_reason", "level": 1, ...}`: the app polls it.
   `POST .../cancellation` withdraws an unsubmitted registration.

Every route is anonymous and throttled per client IP and per registration (creation also per
phone number and per passport). A later TK01 at an office upgrades the Level-1 account (the
e-ID authority decides it on the request: `authority.service.receive_account_request`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.biometrics.phash import distance, perceptual_hash
from eid.biometrics.ports import BiometricMatcher
from eid.calendar.service import add_working_days
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import get_keystore
from eid.core.errors import BiometricError, Conflict, Unauthorized, ValidationFailed
from eid.enrolment import consent as consent_texts
from eid.enrolment import service
from eid.enrolment.models import Application, SelfieHash
from eid.enrolment.notices import REFUSAL_TEXT
from eid.enrolment.rules import check_tk01
from eid.enrolment.schemas import (
    ConsentIn,
    PersonForm,
    QualityOut,
    RegistrationIn,
    SubmissionOut,
)
from eid.enrolment.state import require_status, transition
from eid.i18n import N_, gettext
from eid.notify.service import notify
from eid.registry.ports import ImmigrationRegistry

TOKEN_TTL = dt.timedelta(hours=24)
WORKING_DAYS = 1  # DESIGN.md §1, Level 1: processed within 1 working day
# A selfie this close to the registry photo, or to an earlier selfie, is a copy, not a capture
# (measured on the shared set: `biometrics.phash` and the module docstring).
REPLAY_PHASH_BITS = 8
REPLAY_FACE_SCORE = 0.93


def applicant(app: Application) -> Actor:
    """Whoever holds the registration token: the applicant (or the guardian)."""
    return Actor(kind="applicant", id=str(app.id), role="applicant")


def _token_hash(app_id: uuid.UUID, token: str) -> str:
    # The phone codes' key, with its own prefix: a code's hash can never stand for a token's.
    key = get_keystore().secret("phone-otp")
    message = f"registration-token:{app_id}:{token}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _supersede_unsubmitted(session: Session, form: PersonForm) -> None:
    """An earlier registration in the app for this passport, never submitted, gives way."""
    passport = form.passport.model_dump(mode="json", exclude_none=True)
    earlier = session.execute(
        select(Application)
        .where(
            Application.passport.matches(passport),
            Application.channel == "app",
            Application.status.in_(("draft", "captured")),
            Application.submitted_on.is_(None),
        )
        .with_for_update()
    ).scalar_one_or_none()
    if earlier is not None:
        transition(
            session,
            earlier,
            "cancelled",
            actor=applicant(earlier),
            reason="superseded by a new registration in the app",
        )


def create(
    session: Session, form: RegistrationIn, *, registry: ImmigrationRegistry
) -> tuple[Application, str]:
    """A draft Level-1 application and its registration token (shown once)."""
    form = check_tk01(form, clock.today_vn(), level=1)
    record = registry.find_by_passport(form.passport.number)
    if record is None:
        raise ValidationFailed(
            "the immigration database has no person with this passport",
            code="PASSPORT_NOT_IN_REGISTRY",
        )
    if authority.held_level(session, record.person_ref) is not None:
        raise Conflict("you already hold an e-ID account", code="ACCOUNT_EXISTS")
    _supersede_unsubmitted(session, form)
    token = secrets.token_urlsafe(32)
    app_id = uuid.uuid4()
    app = Application(
        id=app_id,
        level=1,
        channel="app",
        office_code=None,
        created_by=None,
        status="draft",
        full_name=form.full_name,
        date_of_birth=form.date_of_birth,
        sex=form.sex,
        nationality=form.nationality,
        passport=form.passport.model_dump(mode="json", exclude_none=True),
        residence_card=form.residence_card.model_dump(mode="json"),
        address=form.address or "",  # optional in the app
        phone=form.phone,
        email=form.email,
        language=form.language,
        integrations={},
        guardian=form.guardian.model_dump(mode="json") if form.guardian else None,
        registry_ref=record.person_ref,
        registration_token_hash=_token_hash(app_id, token),
        registration_token_expires_at=clock.now() + TOKEN_TTL,
    )
    service.insert_application(session, app)
    audit.record(
        session,
        applicant(app),
        "application.draft",
        "application",
        app.id,
        details={"level": 1, "channel": "app"},
    )
    return app, token


def load(session: Session, app_id: uuid.UUID, token: str | None) -> Application:
    """The registration its token opens, locked for the request; one refusal for an unknown
    id, a wrong token and an expired one."""
    app = session.execute(
        select(Application)
        .where(Application.id == app_id, Application.channel == "app")
        .with_for_update()
    ).scalar_one_or_none()
    expected = app.registration_token_hash if app else None
    given = _token_hash(app_id, token or "")
    fresh = (
        app is not None
        and app.registration_token_expires_at is not None
        and app.registration_token_expires_at > clock.now()
    )
    if app is None or expected is None or not token or not fresh:
        raise _token_refused()
    if not hmac.compare_digest(expected, given):
        raise _token_refused()
    return app


def _token_refused() -> Unauthorized:
    return Unauthorized(
        "the registration token is missing, wrong or expired: start the registration again",
        code="REGISTRATION_TOKEN_INVALID",
    )


def _not_submitted(app: Application) -> None:
    if app.submitted_on is not None:
        raise Conflict("the registration has already been submitted", code="ALREADY_SUBMITTED")


def _phone_verified(app: Application) -> None:
    if app.phone_verified_at is None:
        raise Conflict(
            "verify the phone number first with the code sent by SMS",
            code="PHONE_NOT_VERIFIED",
        )


def give_consent(session: Session, app: Application, body: ConsentIn) -> None:
    require_status(app, "draft", "captured", action=N_("record consent for"))
    _not_submitted(app)
    _phone_verified(app)
    service.keep_consent(app, body)
    audit.record(
        session,
        applicant(app),
        "application.consent_given",
        "application",
        app.id,
        details={"by": body.by, "version": app.consent_text_version},
    )


def _refuse_replay(session: Session, app: Application, reason: str) -> ValidationFailed:
    audit.record(
        session, applicant(app), "application.selfie_refused", "application", app.id, reason=reason
    )
    return ValidationFailed(
        "this picture was sent before or copies an official photo: take a new selfie with the "
        "camera",
        code="SELFIE_REUSED",
        keep_writes=True,  # the refusal stays in the audit log
    )


def refuse_replayed_selfie(
    session: Session,
    app: Application,
    image: bytes,
    digest: int,
    *,
    matcher: BiometricMatcher,
    registry: ImmigrationRegistry,
) -> None:
    """A selfie must be a new capture: not the immigration database's photo of the person (nor
    a near copy of it), not a picture sent with any registration before."""
    earlier = session.execute(
        text(
            "SELECT 1 FROM selfie_hashes WHERE application_id <> :app "
            "AND bit_count(CAST(phash # :digest AS bit(64))) <= :bits LIMIT 1"
        ),
        {"app": app.id, "digest": digest, "bits": REPLAY_PHASH_BITS},
    ).first()
    if earlier is not None:
        raise _refuse_replay(session, app, "a near copy of an earlier selfie")
    on_file = registry.biometrics_on_file(app.registry_ref) if app.registry_ref else None
    if on_file is None or on_file.portrait is None:
        return
    if distance(perceptual_hash(on_file.portrait), digest) <= REPLAY_PHASH_BITS:
        raise _refuse_replay(session, app, "the registry photo")
    try:
        score = matcher.compare_faces(
            matcher.face_template(image), matcher.face_template(on_file.portrait)
        ).score
    except BiometricError:
        return  # no face to compare: the quality report says so
    if score >= REPLAY_FACE_SCORE:
        raise _refuse_replay(session, app, "a near copy of the registry photo")


def take_selfie(
    session: Session,
    app: Application,
    image: bytes,
    *,
    matcher: BiometricMatcher,
    registry: ImmigrationRegistry,
) -> QualityOut:
    require_status(app, "draft", "captured", action=N_("capture a portrait for"))
    _not_submitted(app)
    _phone_verified(app)
    if app.consented_at is None:
        raise Conflict(
            "give your consent first: the selfie is biometric data", code="CONSENT_REQUIRED"
        )
    service.image_kind(image)
    try:
        digest = perceptual_hash(image)
    except BiometricError as exc:
        raise ValidationFailed(exc.msgid, code=exc.code, params=exc.params) from None
    refuse_replayed_selfie(session, app, image, digest, matcher=matcher, registry=registry)
    session.add(SelfieHash(application_id=app.id, phash=digest))
    return service.take_portrait(session, app, image, actor=applicant(app), matcher=matcher)


def submit(session: Session, app: Application) -> SubmissionOut:
    """The holder sends the registration: the 1-working-day deadline starts and the checks are
    queued; the rest follows by itself (`service.forward_registration`). Idempotent."""
    if app.submitted_on is None:
        require_status(app, "captured", action=N_("submit"))
        _phone_verified(app)
        if app.consented_at is None:
            raise Conflict("give your consent first", code="CONSENT_REQUIRED")
        app.submitted_at = clock.now()
        app.submitted_on = clock.today_vn()
        app.legal_deadline = add_working_days(session, app.submitted_on, WORKING_DAYS)
        service.queue_verification(session, app, actor=applicant(app))
        notify(
            session,
            recipient_type="application",
            recipient_id=app.id,
            channels={"sms": app.phone, "email": app.email},
            language=app.language,
            template="level1_registration_received",
            params={"legal_deadline": app.legal_deadline.isoformat(), "full_name": app.full_name},
            key=f"registration-received:{app.id}",
        )
    assert app.legal_deadline is not None
    return SubmissionOut(
        id=app.id, status=app.status, legal_deadline=app.legal_deadline, working_days=WORKING_DAYS
    )


def cancel(session: Session, app: Application) -> None:
    _not_submitted(app)
    transition(session, app, "cancelled", actor=applicant(app), reason="withdrawn in the app")


def rejection_reason(app: Application, language: str) -> str | None:
    """The refusal in the holder's language (an officer's own words stay as written)."""
    if app.rejection_code is None:
        return None
    known = REFUSAL_TEXT.get(app.rejection_code)
    return gettext(language, known) if known else app.rejection_reason


def consent_version() -> str:
    return consent_texts.LEVEL1_VERSION
