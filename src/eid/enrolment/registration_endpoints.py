"""The app's Level-1 registration API (`registration` explains the steps): anonymous, every
route throttled per client IP and per registration, creation also per phone and passport."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eid.biometrics.ports import HasMatcher
from eid.core import audit, throttle
from eid.core.limits import IMAGE_BODY_LIMIT, body_limit, image_body
from eid.core.throttle import Limit, Policy
from eid.core.web import app_ports, caller_language, get_db
from eid.enrolment import phone, registration
from eid.enrolment.models import Application, Capture
from eid.enrolment.schemas import (
    ConsentIn,
    PhoneCodeIn,
    PhoneCodeSent,
    QualityOut,
    RegistrationCheck,
    RegistrationCreated,
    RegistrationIn,
    RegistrationOut,
    SubmissionOut,
)
from eid.i18n import gettext
from eid.registry.ports import HasRegistry
from eid.verification import service as verification

router = APIRouter(prefix="/api/v1/registrations", tags=["registrations"])
IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("image/jpeg", "image/png")
        },
    }
}


class RegistrationPorts(HasMatcher, HasRegistry, Protocol):
    """The selfie is judged by the matcher; the person is looked up in the registry."""


_MINUTE = dt.timedelta(minutes=1)
_HOUR = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)
# A carrier's NAT puts many phones behind one address: the per-IP limits leave room for that;
# the per-phone and per-passport limits are what stop one person's data being tried at will.
# Refused attempts count too: ten a day leaves room for typing mistakes, not for trying data.
CREATE = Policy("registration-create", Limit(30, _HOUR), Limit(10, _DAY))
CREATE_PASSPORT = Policy("registration-passport", Limit(60, _HOUR), Limit(10, _DAY))
STEP = Policy("registration-step", Limit(60, _MINUTE), Limit(30, 10 * _MINUTE))
SELFIE = Policy("registration-selfie", Limit(20, _MINUTE), Limit(20, _HOUR))
READ = Policy("registration-read", Limit(240, _MINUTE), Limit(60, _MINUTE))


async def _create_limit(request: Request) -> None:
    """Per IP and phone number, and per passport number (both read from the JSON body)."""
    try:
        body = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    body = body if isinstance(body, dict) else {}
    raw_phone = body.get("phone")
    passport = body.get("passport")
    number = passport.get("number") if isinstance(passport, dict) else None
    # The last nine digits name a Vietnamese mobile however it is written (0912.., +84912..).
    digits = "".join(c for c in raw_phone if c.isdigit())[-9:] if isinstance(raw_phone, str) else ""
    ip = throttle.client_ip(request)
    await run_in_threadpool(throttle.hit, CREATE, ip, digits or None)
    if isinstance(number, str) and number.strip():
        await run_in_threadpool(throttle.hit, CREATE_PASSPORT, ip, number.strip().upper())


_create_limit.throttle_policy = CREATE  # type: ignore[attr-defined]  # the route test finds it
TOKEN = Header(default=None, alias="X-Registration-Token", max_length=100)


def _view(
    session: Session, app: Application, language: str, *, read: bool = True
) -> dict[str, Any]:
    if read:
        audit.record(
            session, registration.applicant(app), "application.read", "application", app.id
        )
    selfie = session.execute(
        select(Capture.acceptable).where(
            Capture.application_id == app.id, Capture.kind == "portrait"
        )
    ).scalar_one_or_none()
    checks = verification.checks_of(session, app.id, app.verification_run, language=language)
    return RegistrationOut(
        id=app.id,
        status=app.status,
        checks=[RegistrationCheck(name=c["name"], outcome=c["outcome"]) for c in checks],
        legal_deadline=app.legal_deadline,
        working_days=registration.WORKING_DAYS,
        eid_number=app.eid_number,
        rejection_code=app.rejection_code,
        rejection_reason=registration.rejection_reason(app, language),
        language=app.language,
        phone_sent_to=phone.masked(app.phone),
        phone_verified=app.phone_verified_at is not None,
        consent_text_version=registration.consent_version(),
        consented=app.consented_at is not None,
        selfie_acceptable=bool(selfie),
        submitted=app.submitted_on is not None,
    ).model_dump()


@router.post(
    "", status_code=201, response_model=RegistrationCreated, dependencies=[Depends(_create_limit)]
)
def create(
    form: RegistrationIn,
    request: Request,
    db: Session = Depends(get_db, scope="function"),
    ports: RegistrationPorts = Depends(app_ports),
) -> RegistrationCreated:
    """Start a Level-1 registration: answers its one-time `registration_token`."""
    app, token = registration.create(db, form, registry=ports.registry(db))
    expires_in = int(registration.TOKEN_TTL.total_seconds())
    view = _view(db, app, caller_language(request), read=False)
    return RegistrationCreated(**view, registration_token=token, token_expires_in=expires_in)


@router.get(
    "/{reg_id}",
    response_model=RegistrationOut,
    dependencies=[Depends(throttle.limit(READ, key_path="reg_id"))],
)
def read(
    reg_id: uuid.UUID,
    request: Request,
    token: str | None = TOKEN,
    db: Session = Depends(get_db, scope="function"),
) -> dict[str, Any]:
    return _view(db, registration.load(db, reg_id, token), caller_language(request))


@router.post(
    "/{reg_id}/phone-verification",
    response_model=PhoneCodeSent,
    dependencies=[Depends(throttle.limit(throttle.PHONE_CODE_SEND, key_path="reg_id"))],
)
def send_phone_code(
    reg_id: uuid.UUID, token: str | None = TOKEN, db: Session = Depends(get_db, scope="function")
) -> PhoneCodeSent:
    app = registration.load(db, reg_id, token)
    phone.send_code(db, app, actor=registration.applicant(app))
    return PhoneCodeSent(
        sent_to=phone.masked(app.phone), expires_in=int(phone.OTP_TTL.total_seconds())
    )


@router.post(
    "/{reg_id}/phone-verification/confirmation",
    response_model=RegistrationOut,
    dependencies=[Depends(throttle.limit(throttle.PHONE_CODE_CONFIRM, key_path="reg_id"))],
)
def confirm_phone_code(
    reg_id: uuid.UUID,
    body: PhoneCodeIn,
    request: Request,
    token: str | None = TOKEN,
    db: Session = Depends(get_db, scope="function"),
) -> dict[str, Any]:
    app = registration.load(db, reg_id, token)
    phone.confirm_code(db, app, body.code, actor=registration.applicant(app))
    return _view(db, app, caller_language(request), read=False)


@router.post(
    "/{reg_id}/consent",
    response_model=RegistrationOut,
    dependencies=[Depends(throttle.limit(STEP, key_path="reg_id"))],
)
def give_consent(
    reg_id: uuid.UUID,
    body: ConsentIn,
    request: Request,
    token: str | None = TOKEN,
    db: Session = Depends(get_db, scope="function"),
) -> dict[str, Any]:
    app = registration.load(db, reg_id, token)
    registration.give_consent(db, app, body)
    return _view(db, app, caller_language(request), read=False)


async def _selfie(request: Request) -> bytes:
    """The selfie as the raw body (or the one file of a form upload)."""
    return await image_body(request, IMAGE_BODY_LIMIT)


@router.put(
    "/{reg_id}/selfie",
    response_model=QualityOut,
    openapi_extra=IMAGE_BODY,
    dependencies=[Depends(throttle.limit(SELFIE, key_path="reg_id"))],
)
@body_limit(IMAGE_BODY_LIMIT + 64 * 1024)
def selfie(
    reg_id: uuid.UUID,
    request: Request,
    token: str | None = TOKEN,
    image: bytes = Depends(_selfie),
    db: Session = Depends(get_db, scope="function"),
    ports: RegistrationPorts = Depends(app_ports),
) -> QualityOut:
    """The selfie: refused if it copies the registry photo or an earlier selfie, else judged
    by the portrait checks, with advice in the caller's language."""
    app = registration.load(db, reg_id, token)
    report = registration.take_selfie(
        db, app, image, matcher=ports.matcher, registry=ports.registry(db)
    )
    language = caller_language(request)
    issues = [i | {"message": gettext(language, i["message"])} for i in report.issues]
    return report.model_copy(update={"issues": issues})


@router.post(
    "/{reg_id}/submission",
    response_model=SubmissionOut,
    dependencies=[Depends(throttle.limit(STEP, key_path="reg_id"))],
)
def submission(
    reg_id: uuid.UUID, token: str | None = TOKEN, db: Session = Depends(get_db, scope="function")
) -> SubmissionOut:
    return registration.submit(db, registration.load(db, reg_id, token))


@router.post(
    "/{reg_id}/cancellation",
    response_model=RegistrationOut,
    dependencies=[Depends(throttle.limit(STEP, key_path="reg_id"))],
)
def cancellation(
    reg_id: uuid.UUID,
    request: Request,
    token: str | None = TOKEN,
    db: Session = Depends(get_db, scope="function"),
) -> dict[str, Any]:
    app = registration.load(db, reg_id, token)
    registration.cancel(db, app)
    return _view(db, app, caller_language(request), read=False)
