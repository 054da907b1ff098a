"""The verified mobile number of TK01: a one-time code sent to it, read back at the counter.

For a child aged 6-13 the number is the guardian's own, so the guardian proves it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid

from sqlalchemy.orm import Session

from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import get_keystore
from eid.core.errors import Conflict, ValidationFailed
from eid.enrolment.models import Application
from eid.enrolment.state import require_status
from eid.i18n import N_
from eid.notify.service import notify, redact_secrets

OTP_TTL = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5


def _hash(app_id: uuid.UUID, code: str) -> str:
    key = get_keystore().secret("phone-otp")
    return hmac.new(key, f"{app_id}:{code}".encode(), hashlib.sha256).hexdigest()


def masked(phone: str) -> str:
    return phone[:3] + "*" * max(len(phone) - 6, 0) + phone[-3:]


def send_code(session: Session, app: Application, *, actor: Actor) -> str:
    """Send a fresh code by SMS; returns it to the caller (the endpoint never shows it)."""
    require_status(
        app, "draft", "captured", "verified", "in_review", action=N_("verify the phone of")
    )
    if app.phone_verified_at is not None:
        raise Conflict("the phone number is already verified", code="PHONE_ALREADY_VERIFIED")
    code = f"{secrets.randbelow(10**6):06d}"
    app.phone_otp_hash = _hash(app.id, code)
    app.phone_otp_expires_at = clock.now() + OTP_TTL
    app.phone_otp_attempts = 0
    notify(
        session,
        recipient_type="application",
        recipient_id=app.id,
        channels={"sms": app.phone},
        language=app.language,
        # At the office the applicant reads the code out; in the app they type it in.
        template="registration_phone_otp" if app.channel == "app" else "phone_verification_otp",
        params={"otp": code},
        key=f"phone-otp:{app.id}:{secrets.token_hex(4)}",
        secret_expires_at=app.phone_otp_expires_at,
    )
    audit.record(session, actor, "application.phone_code_sent", "application", app.id)
    return code


def confirm_code(session: Session, app: Application, code: str, *, actor: Actor) -> None:
    if app.phone_verified_at is not None:
        return
    if app.phone_otp_hash is None or app.phone_otp_expires_at is None:
        raise Conflict("no code was sent; send one first", code="PHONE_CODE_NOT_SENT")
    # The applicant's code, not the officer's credential: a refusal of the input (422, beside
    # the code field), never a 401, which would read as the officer's session ending.
    field = {"field": "code"}
    if app.phone_otp_attempts >= MAX_ATTEMPTS:
        raise ValidationFailed(
            "too many wrong codes; send a new one", code="PHONE_CODE_LOCKED", details=field
        )
    if app.phone_otp_expires_at < clock.now():
        raise ValidationFailed(
            "the code has expired; send a new one", code="PHONE_CODE_EXPIRED", details=field
        )
    if not hmac.compare_digest(app.phone_otp_hash, _hash(app.id, code.strip())):
        app.phone_otp_attempts += 1
        audit.record(session, actor, "application.phone_code_wrong", "application", app.id)
        raise ValidationFailed(
            "the code is wrong", code="PHONE_CODE_WRONG", keep_writes=True, details=field
        )
    app.phone_verified_at = clock.now()
    app.phone_otp_hash = None
    redact_secrets(session, "application", app.id, carrying="otp")  # the code is used
    audit.record(session, actor, "application.phone_verified", "application", app.id)
