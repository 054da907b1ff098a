"""Holder authentication API (/api/v1/identity) and the holder's own API (/api/v1/me)."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import clock, throttle
from eid.core.errors import Forbidden, ValidationFailed
from eid.core.limits import IMAGE_BODY_LIMIT, body_limit
from eid.core.settings import get_settings
from eid.core.web import app_ports, get_db
from eid.identity import consents, holder, rebind, service
from eid.identity.admin_endpoints import router as admin_router
from eid.identity.approval_endpoints import routers as approval_routers
from eid.identity.dependencies import COOKIE, Holder, current_holder
from eid.identity.logout import router as logout_router
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
    CookieSessionOut,
    CredentialChangedOut,
    CurrentSessionOut,
    DeviceOut,
    DocumentOut,
    LanguageBody,
    LanguageOut,
    LoginBody,
    PasscodeChangeBody,
    PasskeyCredential,
    PasskeyOptionsBody,
    PasskeyOptionsOut,
    PasswordChangeBody,
    ProfileOut,
    RebindCompleteBody,
    RebindStartBody,
    SessionOut,
    UnlockBody,
)

auth = APIRouter(prefix="/api/v1/identity", tags=["holder authentication"])
me = APIRouter(prefix="/api/v1/me", tags=["holder"])
routers = [auth, me, oidc_router, logout_router, admin_router, *approval_routers]


def _same_origin(request: Request) -> bool:
    """A browser names the page that sent a POST in `Origin`; a cookie sign-in from another
    site's page (login CSRF: the victim signed into the attacker's account) is refused."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    issuer = urlsplit(get_settings().issuer)
    return origin in {
        f"{request.url.scheme}://{request.url.netloc}",
        f"{issuer.scheme}://{issuer.netloc}",
    }


def refuse_cross_origin(request: Request, cookie: bool) -> None:
    if cookie and not _same_origin(request):
        raise Forbidden("sign in from this site's own pages", code="CROSS_ORIGIN_REQUEST")


def set_session_cookie(response: Response, issued: service.IssuedSession) -> None:
    response.set_cookie(
        COOKIE,
        issued.token,
        max_age=int(service.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=get_settings().issuer.startswith("https://"),
        path="/",
    )


def _session_out(
    issued: service.IssuedSession, response: Response | None = None, *, cookie: bool = False
) -> SessionOut | CookieSessionOut:
    """A bearer token for an app; for a browser (`cookie`), the HttpOnly cookie and the page's
    CSRF token instead of the session itself."""
    ttl = int((issued.expires_at - clock.now()).total_seconds())
    if cookie and response is not None:
        set_session_cookie(response, issued)
        return CookieSessionOut(
            csrf_token=service.holder_csrf_token(issued.token), expires_in=ttl, acr=issued.acr
        )
    return SessionOut(access_token=issued.token, expires_in=ttl, acr=issued.acr)


def _passkey(given: PasskeyCredential | None) -> service.PasskeyAnswer | None:
    if given is None:
        return None
    return service.PasskeyAnswer(ceremony_id=given.ceremony_id, credential=given.credential)


@auth.post(
    "/passkeys/options",
    dependencies=[Depends(throttle.limit(throttle.CHALLENGE, key_field="eid_number"))],
)
def passkey_options(
    body: PasskeyOptionsBody, db: Session = Depends(get_db, scope="function")
) -> PasskeyOptionsOut:
    """Options for `navigator.credentials.create()` (activation, rebind) or `.get()` (login),
    answered the same way whether or not the e-ID number exists; one-time, five minutes."""
    options = service.passkey_options(
        db, purpose=body.purpose, eid_number=body.eid_number, challenge_id=body.challenge_id
    )
    return PasskeyOptionsOut(ceremony_id=options.ceremony_id, public_key=options.public_key)


@auth.post(
    "/activation",
    status_code=201,
    dependencies=[Depends(throttle.limit(throttle.ACTIVATION, key_field="eid_number"))],
)
def activate(
    body: ActivationBody,
    request: Request,
    response: Response,
    db: Session = Depends(get_db, scope="function"),
) -> SessionOut | CookieSessionOut:
    # A wrong code still counts against the authority's five attempts (`keep_writes`).
    refuse_cross_origin(request, body.cookie)
    issued = service.activate(
        db,
        eid_number=body.eid_number,
        activation_code=body.activation_code,
        password=body.password,
        passcode=body.passcode,
        device_jwk=body.device.public_jwk if body.device else None,
        device_label=(
            body.device.label if body.device else body.passkey.label if body.passkey else ""
        ),
        passkey=_passkey(body.passkey),
    )
    return _session_out(issued, response, cookie=body.cookie)


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
def login(
    body: LoginBody,
    request: Request,
    response: Response,
    db: Session = Depends(get_db, scope="function"),
) -> SessionOut | CookieSessionOut:
    refuse_cross_origin(request, body.cookie)
    passkey = _passkey(body.passkey)
    if passkey is not None:
        issued = service.login_with_passkey(db, passkey)
    elif not body.eid_number or body.password is None:
        raise ValidationFailed(
            "give the e-ID number and password, or a passkey", code="CREDENTIALS_REQUIRED"
        )
    elif body.challenge_id and body.proof:
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
    return _session_out(issued, response, cookie=body.cookie)


@auth.get("/sessions/current", responses={401: {"description": "no live session"}})
def current_session(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> CurrentSessionOut:
    """The browser's session (cookie), for the app's pages: its level, how it was opened, and
    the CSRF token its scripts send back."""
    row, account = service.session_for_token(db, who.token)
    return CurrentSessionOut(
        acr=row.acr,
        amr=list(row.amr),
        expires_in=max(0, int((row.expires_at - clock.now()).total_seconds())),
        csrf_token=service.holder_csrf_token(who.token),
        eid_number=account.eid_number,
        language=account.language,
    )


@auth.delete("/sessions/current", status_code=204)
def logout(
    response: Response,
    who: Holder = Depends(current_holder),
    db: Session = Depends(get_db, scope="function"),
) -> None:
    """Sign out: the session is revoked (bearer or cookie) and a browser's cookie cleared."""
    service.end_session(db, who.token)
    response.delete_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().issuer.startswith("https://"),
    )


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
@body_limit(IMAGE_BODY_LIMIT)  # a phone's selfie, base64
def rebind_complete(
    body: RebindCompleteBody,
    request: Request,
    response: Response,
    db: Session = Depends(get_db, scope="function"),
    ports: HasFaceMatcher = Depends(app_ports),
) -> SessionOut | CookieSessionOut:
    refuse_cross_origin(request, body.cookie)
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
        device_jwk=body.device.public_jwk if body.device else None,
        device_label=(
            body.device.label if body.device else body.passkey.label if body.passkey else ""
        ),
        proof=body.proof,
        passkey=_passkey(body.passkey),
        matcher=ports.face_matcher,
    )
    return _session_out(issued, response, cookie=body.cookie)


# --- /api/v1/me ---


@me.get("")
def profile(who: Holder = Depends(current_holder)) -> ProfileOut:
    return ProfileOut.model_validate(who.account.model_dump())


@me.put("/language")
def change_language(
    body: LanguageBody,
    who: Holder = Depends(current_holder),
    db: Session = Depends(get_db, scope="function"),
) -> LanguageOut:
    """The language of the holder's notifications (app, SMS, email) and, where no other pick is
    made, of the app's pages; an unknown one is refused (422 `UNSUPPORTED_LANGUAGE`)."""
    account = authority.set_language(
        db, who.account.id, body.language, actor=service.holder_actor(who.account.id)
    )
    return LanguageOut(language=account.language)


@me.post("/password", responses={403: {"description": "wrong password"}})
def change_password(
    body: PasswordChangeBody,
    who: Holder = Depends(current_holder),
    db: Session = Depends(get_db, scope="function"),
) -> CredentialChangedOut:
    """The current password again (same lockout as a login), then the new one under the same
    rules as at activation; the holder is told by app, SMS and email."""
    service.change_password(
        db, who.account, current_password=body.current_password, new_password=body.new_password
    )
    return CredentialChangedOut(changed="password")


@me.post("/passcode", responses={403: {"description": "wrong password"}})
def change_passcode(
    body: PasscodeChangeBody,
    who: Holder = Depends(current_holder),
    db: Session = Depends(get_db, scope="function"),
) -> CredentialChangedOut:
    service.change_passcode(db, who.account, password=body.password, new_passcode=body.new_passcode)
    return CredentialChangedOut(changed="passcode")


@me.get("/documents")
def documents(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> list[DocumentOut]:
    return [DocumentOut.model_validate(d) for d in holder.documents(db, who.account.id)]


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
            kind=d.kind,
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
