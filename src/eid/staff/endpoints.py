from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import throttle
from eid.core.audit import Actor, AuditEvent
from eid.core.errors import Forbidden, Unauthorized
from eid.core.settings import get_settings
from eid.core.web import get_db
from eid.staff import service
from eid.staff.dependencies import current_officer, presented_token, require_roles, session_cookie
from eid.staff.schemas import BrowserSessionResponse, LoginRequest, TokenResponse

router = APIRouter(prefix="/api/v1/officer", tags=["officers"])


@router.post(
    "/sessions",
    response_model=TokenResponse,
    status_code=201,
    dependencies=[Depends(throttle.limit(throttle.OFFICER_LOGIN, key_field="username"))],
)
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


def _same_origin(request: Request) -> bool:
    """A browser names the page that sent a POST in `Origin`; a sign-in from another site's page
    (login CSRF: the victim signed into the attacker's account) is refused."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser, or a same-origin request of a browser that omits it
    own = {f"{request.url.scheme}://{request.url.netloc}"}
    issuer = urlsplit(get_settings().issuer)
    own.add(f"{issuer.scheme}://{issuer.netloc}")
    return origin in own


@router.post(
    "/browser-sessions",
    response_model=BrowserSessionResponse,
    status_code=201,
    # The same buckets as `POST /sessions`: both routes count against one username and address.
    dependencies=[Depends(throttle.limit(throttle.OFFICER_LOGIN, key_field="username"))],
    responses={403: {"description": "a sign-in sent from another site's page"}},
)
def officer_page_sign_in(
    body: LoginRequest,
    request: Request,
    response: Response,
    db: Session = Depends(get_db, scope="function"),
) -> BrowserSessionResponse:
    """The officer pages' sign-in: the same check as `POST /sessions`, but the token goes into
    an HttpOnly cookie that no script can read, and the page gets its CSRF token instead."""
    if not _same_origin(request):
        raise Forbidden("sign in from this site's own pages", code="CROSS_ORIGIN_REQUEST")
    settings = get_settings()
    token, ttl = service.login(
        db,
        username=body.username,
        password=body.password,
        totp=body.totp,
        ttl_seconds=settings.officer_token_ttl_seconds,
    )
    who = service.signed_in(db, token)
    response.set_cookie(
        session_cookie(),
        token,
        max_age=ttl,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.env == "production",
    )
    return BrowserSessionResponse(
        csrf_token=service.csrf_token(token),
        expires_in=ttl,
        idle_timeout=settings.officer_idle_timeout_seconds,
        username=who.username,
        role=who.actor.role,
        office=who.actor.office or "",
    )


@router.delete(
    "/sessions/current",
    status_code=204,
    responses={401: {"description": "no live session"}, 403: {"description": "no CSRF token"}},
)
def officer_sign_out(
    request: Request,
    response: Response,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(current_officer),
) -> None:
    """Sign out: the session is revoked server-side (its token, bearer or cookie, stops working
    at once) and the page's cookie is cleared."""
    presented = presented_token(request)
    if presented is None:  # current_officer has already refused this
        raise Unauthorized("an officer bearer token is required", code="INVALID_TOKEN")
    service.sign_out(db, presented[0], actor=actor)
    response.delete_cookie(
        session_cookie(),
        path="/",
        httponly=True,
        samesite="strict",
        secure=get_settings().env == "production",
    )


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
