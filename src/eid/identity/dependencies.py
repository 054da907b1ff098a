"""Who is calling: a holder with a bearer token (app) or the browser session cookie."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from eid.authority.schemas import AccountView
from eid.core.errors import Unauthorized
from eid.core.web import get_db
from eid.identity import service

COOKIE = "eid_holder_session"


@dataclass(frozen=True)
class Holder:
    token: str
    account: AccountView


def _token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return cookie
    raise Unauthorized("a holder session is required", code="INVALID_SESSION")


def current_holder(request: Request, db: Session = Depends(get_db, scope="function")) -> Holder:
    """A usable account only: a locked account's sessions stop working at once."""
    token = _token(request)
    _, account = service.session_for_token(db, token)
    service.require_usable(account)
    return Holder(token=token, account=account)
