from __future__ import annotations

import uuid
from typing import Any, Literal, Protocol

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eid.biometrics.ports import HasMatcher
from eid.core import throttle
from eid.core.audit import Actor
from eid.core.errors import ValidationFailed
from eid.core.limits import IMAGE_BODY_LIMIT, body_limit, image_body
from eid.core.web import app_ports, caller_language, commit_before_waiting, get_db
from eid.enrolment import consent, phone, reviews, service
from eid.enrolment.counter_endpoints import router as counter_router
from eid.enrolment.registration_endpoints import router as registration_router
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
from eid.i18n import gettext
from eid.registry.ports import HasRegistry
from eid.staff.dependencies import require_roles

router = APIRouter(prefix="/api/v1", tags=["applications"])
review_router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])
routers = [review_router, registration_router, counter_router]
counter = require_roles("officer", "supervisor")
MAX_IMAGE = IMAGE_BODY_LIMIT
# The image routes' body: raw JPEG/PNG bytes (or one file of a form upload, not described here).
IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("image/jpeg", "image/png")
        },
    }
}


class EnrolmentPorts(HasMatcher, HasRegistry, Protocol):
    """The counter's requests judge captures and ask the immigration database."""


async def _image(request: Request, actor: Actor = Depends(counter)) -> bytes:
    """The image as the raw request body (DESIGN.md §3), or as the one file of a form upload.

    Depends on the officer first: a request without a valid credential is refused before a
    byte of its body is read (the edge caps what is read at the route's `body_limit`)."""
    return await image_body(request, MAX_IMAGE)


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
    ports: EnrolmentPorts = Depends(app_ports),
    language: str = Depends(caller_language),
) -> ApplicationOut:
    """TK01 → a draft. With an `Idempotency-Key` header, a retried request (lost answer,
    double click) returns the application the first one made, with 200, instead of a second."""
    if idempotency_key:
        earlier = service.find_by_idempotency_key(db, idempotency_key, actor=actor)
        if earlier is not None:
            response.status_code = 200
            return service.view(db, earlier.id, actor=actor, language=language)
    app = service.create_application(
        db, form, actor=actor, registry=ports.registry(db), idempotency_key=idempotency_key
    )
    return service.view(db, app.id, actor=actor, language=language)


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
    language: str = Depends(caller_language),
) -> ApplicationOut:
    return service.view(db, app_id, actor=actor, language=language)


def _read_by(request: Request, report: QualityOut) -> QualityOut:
    """The report's advice to the officer in the officer's language (codes unchanged)."""
    language = caller_language(request)
    issues = [issue | {"message": gettext(language, issue["message"])} for issue in report.issues]
    return report.model_copy(update={"issues": issues})


@router.put("/applications/{app_id}/portrait", response_model=QualityOut, openapi_extra=IMAGE_BODY)
@body_limit(MAX_IMAGE + 64 * 1024)  # room for a multipart envelope around the image
def portrait(
    app_id: uuid.UUID,
    request: Request,
    image: bytes = Depends(_image),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
    ports: EnrolmentPorts = Depends(app_ports),
) -> QualityOut:
    return _read_by(
        request,
        service.capture_portrait(db, app_id, image, actor=actor, matcher=ports.matcher),
    )


@router.put(
    "/applications/{app_id}/fingerprints/{position}",
    response_model=QualityOut,
    openapi_extra=IMAGE_BODY,
)
@body_limit(MAX_IMAGE + 64 * 1024)
def fingerprint(
    app_id: uuid.UUID,
    position: int,
    request: Request,
    image: bytes = Depends(_image),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
    ports: EnrolmentPorts = Depends(app_ports),
) -> QualityOut:
    return _read_by(
        request,
        service.capture_fingerprint(
            db, app_id, position, image, actor=actor, matcher=ports.matcher
        ),
    )


@router.put("/applications/{app_id}/fingerprints/{position}/exception", response_model=QualityOut)
def finger_exception(
    app_id: uuid.UUID,
    position: int,
    body: FingerException,
    request: Request,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> QualityOut:
    return _read_by(
        request, service.record_finger_exception(db, app_id, position, body, actor=actor)
    )


@router.post(
    "/applications/{app_id}/verification",
    status_code=202,
    response_model=VerificationOut,
    responses={200: {"model": VerificationOut, "description": "done within `wait` seconds"}},
)
async def verify(
    app_id: uuid.UUID,
    response: Response,
    wait: float = Query(0.0, ge=0, le=60, description="seconds to wait for the outcome"),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> VerificationOut:
    """Queue the checks as a durable job: 202 at once, `Location` naming the application to
    poll (`GET`, its `status` leaves `captured` when the checks are done). With `wait`, the
    answer waits up to that many seconds for the worker's outcome, on PostgreSQL LISTEN/NOTIFY
    (no thread held), and is 200 with the outcome once it is there."""
    await run_in_threadpool(service.request_verification, db, app_id, actor=actor)
    response.headers["Location"] = f"/api/v1/applications/{app_id}"
    if wait > 0:
        await run_in_threadpool(commit_before_waiting, db)
        status = await service.wait_for_verification(app_id, timeout=wait)
        if status is not None:
            response.status_code = 200
            return VerificationOut(id=app_id, status=status, verification="done")
    return VerificationOut(id=app_id, status="captured", verification="queued")


@router.post(
    "/applications/{app_id}/phone-verification",
    response_model=PhoneCodeSent,
    dependencies=[Depends(throttle.limit(throttle.PHONE_CODE_SEND, key_path="app_id"))],
)
def send_phone_code(
    app_id: uuid.UUID,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
) -> PhoneCodeSent:
    _, sent_to = service.send_phone_code(db, app_id, actor=actor)
    return PhoneCodeSent(sent_to=sent_to, expires_in=int(phone.OTP_TTL.total_seconds()))


@router.post(
    "/applications/{app_id}/phone-verification/confirmation",
    response_model=ApplicationOut,
    dependencies=[Depends(throttle.limit(throttle.PHONE_CODE_CONFIRM, key_path="app_id"))],
)
def confirm_phone_code(
    app_id: uuid.UUID,
    body: PhoneCodeIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
    language: str = Depends(caller_language),
) -> ApplicationOut:
    service.confirm_phone_code(db, app_id, body.code, actor=actor)
    return service.view(db, app_id, actor=actor, language=language)


@router.get(
    "/consent-texts/{version}", dependencies=[Depends(throttle.limit(throttle.PUBLIC_READ))]
)
def consent_text(
    version: str,
    language: str | None = None,
    accept_language: str | None = Header(default=None),
) -> dict[str, str]:
    """The text in `language` (the application's), else the caller's Accept-Language, else
    English; `language` in the answer is the one actually shown."""
    shown = consent.language_for(language, accept_language)
    text = consent.text_for(version, shown)
    if text is None:
        raise ValidationFailed(
            "unknown consent text version or language", code="CONSENT_TEXT_UNKNOWN"
        )
    return {"version": version, "language": shown, "text": text}


@router.post("/applications/{app_id}/consent", response_model=ApplicationOut)
def give_consent(
    app_id: uuid.UUID,
    body: ConsentIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(counter),
    language: str = Depends(caller_language),
) -> ApplicationOut:
    service.record_consent(db, app_id, body, actor=actor)
    return service.view(db, app_id, actor=actor, language=language)


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
    language: str = Depends(caller_language),
) -> ApplicationOut:
    service.cancel(db, app_id, body.reason, actor=actor)
    return service.view(db, app_id, actor=actor, language=language)


# --- the review queue: verification's reviews of enrolment's applications ---


class DecisionIn(BaseModel):
    decision: str = Field(pattern="^(approve|reject)$")
    note: str = Field(min_length=3, max_length=1000)


@review_router.get("")
def list_reviews(
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor")),
    ports: HasRegistry = Depends(app_ports),
    language: str = Depends(caller_language),
) -> list[dict[str, Any]]:
    """Held applications, each with the immigration database's record of the applicant and,
    for a possible second identity, the other application."""
    return reviews.open_reviews(db, actor, ports.registry(db), language=language)


@review_router.post("/{review_id}/decision")
def decide(
    review_id: uuid.UUID,
    body: DecisionIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor")),
    ports: HasRegistry = Depends(app_ports),
    language: str = Depends(caller_language),
) -> dict[str, Any]:
    return reviews.decide_review(
        db,
        review_id,
        decision=body.decision,
        note=body.note,
        actor=actor,
        registry=ports.registry(db),
        language=language,
    )


@review_router.get(
    "/{review_id}/portraits/{side}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def review_portrait(
    review_id: uuid.UUID,
    side: Literal["application", "candidate", "registry"],
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor")),
    ports: HasRegistry = Depends(app_ports),
) -> Response:
    """The held application's capture, the candidate's, or the applicant's photo on file in the
    immigration database, side by side in the review page. Never cached: biometric data."""
    image = reviews.review_portrait(db, review_id, side, actor, ports.registry(db))
    media = (
        "image/jpeg"
        if image.startswith(b"\xff\xd8")
        else "image/png"
        if image.startswith(b"\x89PNG")
        else "application/octet-stream"
    )
    return Response(
        image,
        media_type=media,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
