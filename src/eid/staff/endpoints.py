from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from eid.core.settings import get_settings
from eid.core.web import get_db
from eid.staff import service
from eid.staff.schemas import LoginRequest, TokenResponse

router = APIRouter(prefix="/api/v1/officer", tags=["officers"])


@router.post("/sessions", response_model=TokenResponse, status_code=201)
def officer_login(
    body: LoginRequest, db: Session = Depends(get_db, scope="function")
) -> TokenResponse:
    token, ttl = service.login(
        db,
        username=body.username,
        password=body.password,
        totp=body.totp,
        ttl_seconds=get_settings().officer_token_ttl_seconds,
    )
    return TokenResponse(access_token=token, expires_in=ttl)
