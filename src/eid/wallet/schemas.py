from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field


class CredentialOut(BaseModel):
    format: str = "dc+sd-jwt"
    credential: str
    credential_id: uuid.UUID
    expires_at: dt.datetime


class NonceBody(BaseModel):
    audience: str = Field(max_length=200, description="who verifies (e.g. the landlord's id)")


class NonceOut(BaseModel):
    nonce: str
    audience: str
    expires_at: dt.datetime


class VerificationBody(BaseModel):
    presentation: str
    nonce: str


class VerificationOut(BaseModel):
    valid: bool
    status: str
    disclosed: list[str]
    claims: dict[str, Any]


class QrBody(BaseModel):
    presentation: str
