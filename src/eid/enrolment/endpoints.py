from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.core.errors import ValidationFailed
from eid.core.web import get_db
from eid.enrolment import consent, phone, service
from eid.enrolment.schemas import (
    TK01,
    ApplicationOut,
    CancelIn,
    ConsentIn,
    FingerException,
    PhoneCodeIn,
    PhoneCodeSent,
    QualityOut,
    SubmissionOut,
    VerificationOut,
)
from eid.staff.dependencies import require_roles

router = APIRouter(prefix="/api/v1", tags=["applications"])
counter = require_roles("officer", "supervisor")
MAX_IMAGE = 10 * 1024 * 1024


async def _image(request: Request) -> bytes:
    """The image as the raw request body (DESIGN.md §3), or as the one file of a form upload."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        files = [v for v in form.values() if isinstance(v, UploadFile)]
        body = await files[0].read() if len(files) == 1 else b""
    else:
        body = await request.body()
    if not body:
        raise ValidationFailed("send the image bytes as the request body", code="IMAGE_MISSING")
    if len(body) > MAX_IMAGE:
        raise ValidationFailed("the image is larger than 10 MiB", code="IMAGE_TOO_LARGE")
    return body


@router.post(
    "/applications",
    status_code=201,
    response_model=ApplicationOut,
    responses={200: {"model": ApplicationOut, "description": "a retry of an earlier create"}},
)
def create(
    form: TK01,
    response: Response,
    idempotency_key: str | None = Header(default=None, max_length=100),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> ApplicationOut:
    """TK01 → a draft. With an `Idempotency-Key` header, a retried request (lost answer,
    double click) returns the application the first one made, with 200, instead of a second."""
    if idempotency_key:
        earlier = service.find_by_idempotency_key(db, idempotency_key, actor=actor)
        if earlier is not None:
            response.status_code = 200
            return service.view(db, earlier.id, actor=actor)
    app = service.create_application(db, form, actor=actor, idempotency_key=idempotency_key)
    return service.view(db, app.id, actor=actor)


@router.get("/applications/overdue")
def overdue(
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor", "auditor")),
) -> list[dict[str, Any]]:
    return service.overdue(db, actor=actor)


@router.get("/applications/{app_id}", response_model=ApplicationOut)
def read(
    app_id: uuid.UUID,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("officer", "supervisor", "auditor")),
) -> ApplicationOut:
    return service.view(db, app_id, actor=actor)


@router.put("/applications/{app_id}/portrait", response_model=QualityOut)
def portrait(
    app_id: uuid.UUID,
    image: bytes = Depends(_image),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> QualityOut:
    return service.capture_portrait(db, app_id, image, actor=actor)


@router.put("/applications/{app_id}/fingerprints/{position}", response_model=QualityOut)
def fingerprint(
    app_id: uuid.UUID,
    position: int,
    image: bytes = Depends(_image),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> QualityOut:
    return service.capture_fingerprint(db, app_id, position, image, actor=actor)


@router.put("/applications/{app_id}/fingerprints/{position}/exception", response_model=QualityOut)
def finger_exception(
    app_id: uuid.UUID,
    position: int,
    body: FingerException,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> QualityOut:
    return service.record_finger_exception(db, app_id, position, body, actor=actor)


@router.post(
    "/applications/{app_id}/verification",
    response_model=VerificationOut,
    responses={202: {"model": VerificationOut, "description": "still running; poll GET"}},
)
def verify(
    app_id: uuid.UUID,
    response: Response,
    wait: float = Query(15.0, ge=0, le=60, description="seconds to wait for the outcome"),
    actor: Actor = Depends(counter),
) -> VerificationOut:
    """Queue the checks as a durable job, then wait (up to `wait` s) for the worker's outcome:
    200 with the outcome, or 202 while it is still running (poll `GET .../{id}`)."""
    with unit_of_work() as db:  # committed here, so the worker can take the job at once
        service.request_verification(db, app_id, actor=actor)
    deadline = time.monotonic() + wait
    while True:
        with unit_of_work() as db:
            status = service.current_status(db, app_id)
        if status != "captured":
            return VerificationOut(id=app_id, status=status, verification="done")
        if time.monotonic() >= deadline:
            response.status_code = 202
            return VerificationOut(id=app_id, status=status, verification="queued")
        time.sleep(0.1)


@router.post("/applications/{app_id}/phone-verification", response_model=PhoneCodeSent)
def send_phone_code(
    app_id: uuid.UUID,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> PhoneCodeSent:
    _, sent_to = service.send_phone_code(db, app_id, actor=actor)
    return PhoneCodeSent(sent_to=sent_to, expires_in=int(phone.OTP_TTL.total_seconds()))


@router.post(
    "/applications/{app_id}/phone-verification/confirmation", response_model=ApplicationOut
)
def confirm_phone_code(
    app_id: uuid.UUID,
    body: PhoneCodeIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> ApplicationOut:
    service.confirm_phone_code(db, app_id, body.code, actor=actor)
    return service.view(db, app_id, actor=actor)


@router.get("/consent-texts/{version}")
def consent_text(version: str, language: str = "vi") -> dict[str, str]:
    text = consent.text_for(version, language)
    if text is None:
        raise ValidationFailed(
            "unknown consent text version or language", code="CONSENT_TEXT_UNKNOWN"
        )
    return {"version": version, "language": language, "text": text}


@router.post("/applications/{app_id}/consent", response_model=ApplicationOut)
def give_consent(
    app_id: uuid.UUID,
    body: ConsentIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> ApplicationOut:
    service.record_consent(db, app_id, body, actor=actor)
    return service.view(db, app_id, actor=actor)


@router.post("/applications/{app_id}/submission", response_model=SubmissionOut)
def submission(
    app_id: uuid.UUID,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> SubmissionOut:
    return service.submit(db, app_id, actor=actor)


@router.post("/applications/{app_id}/cancellation", response_model=ApplicationOut)
def cancellation(
    app_id: uuid.UUID,
    body: CancelIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> ApplicationOut:
    service.cancel(db, app_id, body.reason, actor=actor)
    return service.view(db, app_id, actor=actor)
