"""Who is calling: a holder with a bearer token (app) or the browser session cookie.

A bearer header wins over the cookie. A request the cookie authenticates that changes state
(POST, PUT, PATCH, DELETE) must carry `X-CSRF-Token`, the session's anti-forgery token
(`service.holder_csrf_token`), as the officer pages do (`eid.staff.dependencies`): another site
can make the browser send the cookie (SameSite=Lax still sends it on top-level navigations),
never read that value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from eid.authority.schemas import AccountView
from eid.core.errors import Forbidden, Unauthorized
from eid.core.web import get_db
from eid.identity import service

COOKIE = "eid_holder_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Holder:
    token: str
    account: AccountView
    via: Literal["bearer", "cookie"] = "bearer"


def presented_token(request: Request) -> tuple[str, Literal["bearer", "cookie"]]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token, "bearer"
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return cookie, "cookie"
    raise Unauthorized("a holder session is required", code="INVALID_SESSION")


def current_holder(request: Request, db: Session = Depends(get_db, scope="function")) -> Holder:
    """A usable account only: a locked account's sessions stop working at once."""
    token, via = presented_token(request)
    if (
        via == "cookie"
        and request.method not in SAFE_METHODS
        and not service.csrf_matches(token, request.headers.get(CSRF_HEADER))
    ):
        # Checked before the session is used: a forged request learns nothing and changes nothing.
        raise Forbidden(
            "a page's request needs its %(header)s header",
            code="CSRF_FAILED",
            params={"header": CSRF_HEADER},
        )
    _, account = service.session_for_token(db, token)
    service.require_usable(account)
    return Holder(token=token, account=account, via=via)
