"""Request and response bodies of the holder's API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field


class DeviceKey(BaseModel):
    public_jwk: dict[str, Any]
    label: str = Field(default="phone", max_length=100)


class ActivationBody(BaseModel):
    eid_number: str
    activation_code: str
    password: str
    passcode: str
    device: DeviceKey


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
    """Password plus either the bound device's signature over a challenge, or the passcode."""

    eid_number: str
    password: str
    challenge_id: uuid.UUID | None = None
    proof: str | None = None
    passcode: str | None = None


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - RFC 6750 token type, not a secret
    expires_in: int
    acr: str


class RebindStartBody(BaseModel):
    eid_number: str
    password: str


class RebindCompleteBody(BaseModel):
    eid_number: str
    challenge_id: uuid.UUID
    otp: str
    selfie: str = Field(description="base64 JPEG or PNG taken by the new device")
    device: DeviceKey
    proof: str = Field(description="compact JWS by the new device key over the challenge nonce")


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
    status: str
    bound_at: dt.datetime
    unbound_at: dt.datetime | None
    public_jwk: dict[str, Any]
