"""FastAPI dependencies: who is calling, and may they.

Two ways in, one officer session behind both: API clients send `Authorization: Bearer <token>`;
the officer pages hold the same kind of token in an HttpOnly, SameSite=Strict cookie that no
script can read, and prove each state-changing call with `X-CSRF-Token` (a value bound to the
session that only a page of this origin can have read).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from eid.core.audit import Actor
from eid.core.errors import EidError, Forbidden, Unauthorized
from eid.core.settings import get_settings
from eid.core.web import get_db, officers_only
from eid.staff import service

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_cookie() -> str:
    """`__Host-` in production: the browser then takes the cookie only if it is Secure, for the
    whole site (Path=/) and from this very host (no Domain), so no sibling host can plant one."""
    return "__Host-eid_officer" if get_settings().env == "production" else "eid_officer"


def presented_token(request: Request) -> tuple[str, Literal["bearer", "cookie"]] | None:
    """The session token of the request: a bearer header wins over a cookie."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("an officer bearer token is required", code="INVALID_TOKEN")
        return token, "bearer"
    cookie = request.cookies.get(session_cookie())
    return (cookie, "cookie") if cookie else None


def current_officer(request: Request, db: Session = Depends(get_db, scope="function")) -> Actor:
    presented = presented_token(request)
    if presented is None:
        raise Unauthorized("an officer bearer token is required", code="INVALID_TOKEN")
    token, via = presented
    if (
        via == "cookie"
        and request.method not in SAFE_METHODS
        and not service.csrf_matches(token, request.headers.get(CSRF_HEADER))
    ):
        # Checked before the session is used, so a forged request does not even keep it alive.
        raise Forbidden(
            "a page's request needs its %(header)s header",
            code="CSRF_TOKEN_INVALID",
            params={"header": CSRF_HEADER},
        )
    return service.actor_for_token(db, token)


def page_officer(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> service.SignedIn | None:
    """The officer signed in on this browser (cookie), if any: a page renders signed in or
    shows its sign-in form. A bearer header does not sign a page in."""
    token = request.cookies.get(session_cookie())
    if not token:
        return None
    try:
        return service.signed_in(db, token)
    except EidError:
        return None


def require_roles(*roles: str) -> Callable[..., Actor]:
    """Least privilege: each endpoint names the roles that may call it."""

    def dependency(actor: Actor = Depends(current_officer)) -> Actor:
        if actor.role not in roles:
            raise Forbidden(
                "this needs the role %(roles)s",
                code="ROLE_NOT_ALLOWED",
                details={"required": list(roles), "role": actor.role},
                params={"roles": ", ".join(roles)},
            )
        return actor

    return dependency


# Officers read their errors in Vietnamese or English (DESIGN.md §1).
officers_only(current_officer)
