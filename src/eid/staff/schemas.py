from __future__ import annotations

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    totp: str = Field(pattern=r"^\d{6}$")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class BrowserSessionResponse(BaseModel):
    """A page's sign-in: the session itself went into an HttpOnly cookie; the page keeps only
    what it must send back (`csrf_token`, as `X-CSRF-Token` on every state-changing call)."""

    csrf_token: str
    expires_in: int
    idle_timeout: int
    username: str
    role: str
    office: str
