"""Request and response bodies of the holder's API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field


class DeviceKey(BaseModel):
    public_jwk: dict[str, Any]
    label: str = Field(default="phone", max_length=100)


class PasskeyCredential(BaseModel):
    """The browser's answer to a ceremony: `PublicKeyCredential.toJSON()` (registration or
    authentication response JSON), as `window.eidPasskey` returns it."""

    ceremony_id: uuid.UUID
    credential: dict[str, Any]
    label: str = Field(default="passkey", max_length=100)


class PasskeyOptionsBody(BaseModel):
    purpose: Literal["activation", "login", "rebind"]
    eid_number: str | None = Field(default=None, max_length=32)
    challenge_id: uuid.UUID | None = Field(
        default=None, description="rebind: the challenge `POST /devices/rebind` answered"
    )


class PasskeyOptionsOut(BaseModel):
    ceremony_id: uuid.UUID
    public_key: dict[str, Any] = Field(
        description="WebAuthn JSON options: creation options (activation, rebind) or request "
        "options (login)"
    )


class ActivationBody(BaseModel):
    eid_number: str
    activation_code: str
    password: str
    passcode: str
    device: DeviceKey | None = None
    passkey: PasskeyCredential | None = None
    cookie: bool = Field(
        default=False, description="a browser: the session goes into an HttpOnly cookie"
    )


class ActivationCodeRequestBody(BaseModel):
    eid_number: str = Field(max_length=32)


class ActivationCodeRequestOut(BaseModel):
    status: str = Field(
        default="accepted",
        description="always the same: if the number awaits activation, a new code goes by SMS "
        "to the phone on file",
    )


class ChallengeBody(BaseModel):
    eid_number: str


class ChallengeOut(BaseModel):
    challenge_id: uuid.UUID
    nonce: str
    expires_at: dt.datetime


class LoginBody(BaseModel):
    """Password plus either the bound device's signature over a challenge, or the passcode; or
    a passkey alone (user-verified: possession and the holder's unlock)."""

    eid_number: str | None = Field(default=None, max_length=32)
    password: str | None = None
    challenge_id: uuid.UUID | None = None
    proof: str | None = None
    passcode: str | None = None
    passkey: PasskeyCredential | None = None
    cookie: bool = Field(
        default=False, description="a browser: the session goes into an HttpOnly cookie"
    )


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - RFC 6750 token type, not a secret
    expires_in: int
    acr: str


class CookieSessionOut(BaseModel):
    """A browser's session: the token went into the HttpOnly cookie `eid_holder_session`; the
    page keeps only what it sends back (`X-CSRF-Token` on every state-changing call)."""

    csrf_token: str
    expires_in: int
    acr: str


class CurrentSessionOut(BaseModel):
    acr: str
    amr: list[str]
    expires_in: int
    csrf_token: str
    eid_number: str
    language: str


class PasswordChangeBody(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


class CredentialChangedOut(BaseModel):
    changed: Literal["password", "passcode"]


class PasscodeChangeBody(BaseModel):
    password: str = Field(max_length=200)
    new_passcode: str = Field(max_length=20)


class RebindStartBody(BaseModel):
    eid_number: str
    password: str


class RebindCompleteBody(BaseModel):
    eid_number: str
    challenge_id: uuid.UUID
    otp: str
    selfie: str = Field(description="base64 JPEG or PNG taken by the new device")
    device: DeviceKey | None = None
    proof: str | None = Field(
        default=None, description="compact JWS by the new device key over the challenge nonce"
    )
    passkey: PasskeyCredential | None = Field(
        default=None, description="instead of device and proof: a passkey of a rebind ceremony"
    )
    cookie: bool = False


class LanguageBody(BaseModel):
    """The language the holder reads eid in: `vi`, `en`, `zh`, `ko` or `ja`."""

    language: str = Field(max_length=16, examples=["ja"])


class LanguageOut(BaseModel):
    language: str


class UnlockBody(BaseModel):
    """Unlocking needs the credentials again: a locked account has no usable session."""

    eid_number: str
    password: str
    passcode: str


class ProfileOut(BaseModel):
    eid_number: str
    level: int
    status: str
    lock_grounds: list[str]
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    passport: dict[str, Any]
    residence_card: dict[str, Any]
    phone: str
    email: str | None
    language: str


class DocumentOut(BaseModel):
    """A document declared in TK01 `integrations`. `state`: `declared` (typed by the officer,
    never checked with the agency that issued it: eid has no connection to those agencies),
    `verified` (the immigration database's record holds the same number) or `mismatch`."""

    kind: Literal["driving_licence", "health_insurance", "tax_code"]
    number: str  # all but the last four characters masked
    state: Literal["declared", "verified", "mismatch"]
    checked_at: dt.datetime | None


class AccessRecordOut(BaseModel):
    at: dt.datetime
    client_id: str
    client_name: str
    claims: list[str]
    purpose: str
    channel: str


class ConsentOut(BaseModel):
    id: uuid.UUID
    client_id: str
    client_name: str
    purpose: str
    scopes: list[str]
    given_at: dt.datetime
    withdrawn_at: dt.datetime | None


class DeviceOut(BaseModel):
    id: uuid.UUID
    label: str
    kind: str = Field(description="jws (a native wallet's device key) or passkey")
    status: str
    bound_at: dt.datetime
    unbound_at: dt.datetime | None
    public_jwk: dict[str, Any]
