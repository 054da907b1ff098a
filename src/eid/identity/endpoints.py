"""Holder authentication API (/api/v1/identity) and the holder's own API (/api/v1/me)."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import clock, throttle
from eid.core.errors import ValidationFailed
from eid.core.web import app_ports, get_db
from eid.identity import consents, holder, rebind, service
from eid.identity.admin_endpoints import router as admin_router
from eid.identity.dependencies import Holder, current_holder
from eid.identity.oidc_endpoints import router as oidc_router
from eid.identity.ports import HasFaceMatcher
from eid.identity.schemas import (
    AccessRecordOut,
    ActivationBody,
    ActivationCodeRequestBody,
    ActivationCodeRequestOut,
    ChallengeBody,
    ChallengeOut,
    ConsentOut,
    DeviceOut,
    LoginBody,
    ProfileOut,
    RebindCompleteBody,
    RebindStartBody,
    SessionOut,
    UnlockBody,
)

auth = APIRouter(prefix="/api/v1/identity", tags=["holder authentication"])
me = APIRouter(prefix="/api/v1/me", tags=["holder"])
routers = [auth, me, oidc_router, admin_router]


def _session_out(issued: service.IssuedSession) -> SessionOut:
    ttl = int((issued.expires_at - clock.now()).total_seconds())
    return SessionOut(access_token=issued.token, expires_in=ttl, acr=issued.acr)


@auth.post(
    "/activation",
    status_code=201,
    dependencies=[Depends(throttle.limit(throttle.ACTIVATION, key_field="eid_number"))],
)
def activate(body: ActivationBody, db: Session = Depends(get_db, scope="function")) -> SessionOut:
    # A wrong code still counts against the authority's five attempts (`keep_writes`).
    issued = service.activate(
        db,
        eid_number=body.eid_number,
        activation_code=body.activation_code,
        password=body.password,
        passcode=body.passcode,
        device_jwk=body.device.public_jwk,
        device_label=body.device.label,
    )
    return _session_out(issued)


@auth.post(
    "/activation/code-request",
    status_code=202,
    dependencies=[
        Depends(throttle.limit(throttle.ACTIVATION_CODE_REQUEST, key_field="eid_number"))
    ],
)
def activation_code_request(
    body: ActivationCodeRequestBody, db: Session = Depends(get_db, scope="function")
) -> ActivationCodeRequestOut:
    """A new activation code by SMS to the phone on file, if the number awaits activation. The
    answer, and the work done before it, are the same whether or not it does (the look-up runs
    in a job): nothing about the number is revealed."""
    authority.request_activation_code(db, body.eid_number)
    return ActivationCodeRequestOut()


@auth.post(
    "/challenges",
    status_code=201,
    dependencies=[Depends(throttle.limit(throttle.CHALLENGE, key_field="eid_number"))],
)
def new_challenge(
    body: ChallengeBody, db: Session = Depends(get_db, scope="function")
) -> ChallengeOut:
    challenge = service.new_login_challenge(db, body.eid_number)
    return ChallengeOut(
        challenge_id=challenge.id, nonce=challenge.nonce, expires_at=challenge.expires_at
    )


@auth.post(
    "/sessions",
    status_code=201,
    dependencies=[Depends(throttle.limit(throttle.HOLDER_LOGIN, key_field="eid_number"))],
)
def login(body: LoginBody, db: Session = Depends(get_db, scope="function")) -> SessionOut:
    if body.challenge_id and body.proof:
        issued = service.login_with_device(
            db,
            eid_number=body.eid_number,
            password=body.password,
            challenge_id=body.challenge_id,
            proof=body.proof,
        )
    elif body.passcode:
        issued = service.login_with_passcode(
            db, eid_number=body.eid_number, password=body.password, passcode=body.passcode
        )
    else:
        raise ValidationFailed("give a device proof or the passcode", code="SECOND_FACTOR")
    return _session_out(issued)


@auth.delete("/sessions/current", status_code=204)
def logout(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> None:
    service.end_session(db, who.token)


@auth.post(
    "/devices/rebind",
    status_code=201,
    dependencies=[Depends(throttle.limit(throttle.REBIND, key_field="eid_number"))],
)
def rebind_start(
    body: RebindStartBody, db: Session = Depends(get_db, scope="function")
) -> ChallengeOut:
    challenge = rebind.start_rebind(db, eid_number=body.eid_number, password=body.password)
    return ChallengeOut(
        challenge_id=challenge.id, nonce=challenge.nonce, expires_at=challenge.expires_at
    )


@auth.post(
    "/devices/rebind/complete",
    status_code=201,
    dependencies=[Depends(throttle.limit(throttle.REBIND, key_field="eid_number"))],
)
def rebind_complete(
    body: RebindCompleteBody,
    db: Session = Depends(get_db, scope="function"),
    ports: HasFaceMatcher = Depends(app_ports),
) -> SessionOut:
    try:
        selfie = base64.b64decode(body.selfie, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("the selfie is not base64", code="INVALID_IMAGE") from None
    issued = rebind.complete_rebind(
        db,
        eid_number=body.eid_number,
        challenge_id=body.challenge_id,
        otp=body.otp,
        selfie=selfie,
        device_jwk=body.device.public_jwk,
        device_label=body.device.label,
        proof=body.proof,
        matcher=ports.face_matcher,
    )
    return _session_out(issued)


# --- /api/v1/me ---


@me.get("")
def profile(who: Holder = Depends(current_holder)) -> ProfileOut:
    return ProfileOut.model_validate(who.account.model_dump())


@me.get("/access-history")
def access_history(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> list[AccessRecordOut]:
    return [
        AccessRecordOut.model_validate(r, from_attributes=True)
        for r in consents.access_history(db, who.account.id)
    ]


@me.get("/consents")
def list_consents(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> list[ConsentOut]:
    return [
        ConsentOut(
            id=c.id,
            client_id=rp.client_id,
            client_name=rp.name,
            purpose=rp.purpose,
            scopes=list(c.scopes),
            given_at=c.created_at,
            withdrawn_at=c.withdrawn_at,
        )
        for c, rp in consents.list_consents(db, who.account.id)
    ]


@me.delete("/consents/{consent_id}", status_code=204)
def withdraw_consent(
    consent_id: uuid.UUID,
    who: Holder = Depends(current_holder),
    db: Session = Depends(get_db, scope="function"),
) -> None:
    consents.withdraw(db, who.account.id, consent_id)


@me.post("/lock")
def lock(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> ProfileOut:
    account = holder.self_lock(db, who.account.id)
    return ProfileOut.model_validate(account.model_dump())


@me.post(
    "/unlock",
    dependencies=[Depends(throttle.limit(throttle.HOLDER_LOGIN, key_field="eid_number"))],
)
def unlock(body: UnlockBody, db: Session = Depends(get_db, scope="function")) -> ProfileOut:
    account = holder.self_unlock(
        db, eid_number=body.eid_number, password=body.password, passcode=body.passcode
    )
    return ProfileOut.model_validate(account.model_dump())


@me.get("/devices")
def devices(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> list[DeviceOut]:
    return [
        DeviceOut(
            id=d.id,
            label=d.label,
            status=d.status,
            bound_at=d.created_at,
            unbound_at=d.unbound_at,
            public_jwk=d.public_jwk,
        )
        for d in holder.list_devices(db, who.account.id)
    ]


@me.get("/notifications")
def notifications(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> list[dict[str, Any]]:
    return holder.inbox(db, who.account.id)


@me.post("/notifications/{notification_id}/read", status_code=204)
def read_notification(
    notification_id: str,
    who: Holder = Depends(current_holder),
    db: Session = Depends(get_db, scope="function"),
) -> None:
    holder.mark_read(db, who.account.id, notification_id)


__all__ = ["authority", "routers"]
