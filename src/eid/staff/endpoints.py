from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core.audit import Actor, AuditEvent
from eid.core.settings import get_settings
from eid.core.web import get_db
from eid.staff import service
from eid.staff.dependencies import require_roles
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


audit_router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@audit_router.get("")
def read_audit_log(
    subject_id: str | None = None,
    action: str | None = None,
    limit: int = 200,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("auditor")),
) -> list[dict[str, Any]]:
    """The audit log, newest first (auditors only)."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(min(max(limit, 1), 1000))
    if subject_id:
        stmt = stmt.where(AuditEvent.subject_id == subject_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return [
        {
            "at": e.at,
            "actor_kind": e.actor_kind,
            "actor_id": e.actor_id,
            "actor_role": e.actor_role,
            "office": e.office,
            "action": e.action,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "reason": e.reason,
            "details": e.details,
        }
        for e in db.execute(stmt).scalars()
    ]


routers = [audit_router]
