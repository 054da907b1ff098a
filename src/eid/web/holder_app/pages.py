"""What every page of the holder app shares: its language, its signed-in holder (from the
`eid_holder_session` cookie) and the one way it is rendered.

A page reads the session server-side and never puts the session itself into the HTML: scripts
get the CSRF token (a meta tag) and call `/api/v1/...` with the HttpOnly cookie.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from eid.authority.schemas import AccountView
from eid.core import audit
from eid.core.errors import EidError
from eid.core.web import get_db
from eid.i18n import format_date, format_datetime
from eid.identity import service as identity
from eid.identity.dependencies import COOKIE
from eid.web.security import page_response
from eid.web.templating import holder_language, language_links, render

SIGN_IN = "/app/sign-in"


@dataclass(frozen=True)
class SignedIn:
    """The holder whose browser holds a live session, and the page's CSRF token for scripts."""

    token: str
    account: AccountView
    csrf_token: str


def signed_in(request: Request, db: Session) -> SignedIn | None:
    """The holder of this browser's session cookie, if it is live and the account usable (a
    locked account's sessions stop working at once, as on the API)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        _, account = identity.session_for_token(db, token)
        identity.require_usable(account)
    except EidError:
        return None
    return SignedIn(token=token, account=account, csrf_token=identity.holder_csrf_token(token))


def page_holder(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> SignedIn | None:
    """A page's holder, or None: the page then sends the browser to sign in, doing nothing
    else (tests/test_routes_throttled.py counts this as a login, like `current_holder`)."""
    return signed_in(request, db)


def viewed(db: Session, holder: SignedIn, page: str) -> None:
    """Every page showing the holder's personal data is an audited read (by the holder)."""
    audit.record(
        db,
        identity.holder_actor(holder.account.id),
        "holder.page_viewed",
        "account",
        holder.account.id,
        details={"page": page},
    )


def sign_in_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, which comes back here afterwards (`next`: a path of this app only)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{SIGN_IN}?next={quote(target, safe='')}", status_code=303)


def page_language(request: Request, holder: SignedIn | None = None) -> str:
    """The holder's pick (`?lang=`, then the cookie), their account's language, the browser's."""
    return holder_language(request, holder.account.language if holder else None)


def app_page(
    request: Request,
    template: str,
    *,
    holder: SignedIn | None = None,
    lang: str | None = None,
    status_code: int = 200,
    with_languages: bool = True,
    **context: Any,
) -> HTMLResponse:
    """A page of the app in the holder's language, with the picker and, signed in, the nav and
    the CSRF token for its scripts."""
    lang = lang or page_language(request, holder)
    languages = language_links(request.url.path, request.query_params) if with_languages else []
    chosen = lang

    def date(value: dt.date | str | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return format_date(value, chosen)

    def when(value: dt.datetime | None) -> str:
        return "" if value is None else format_datetime(value, chosen)

    html = render(
        template,
        lang=lang,
        date=date,
        when=when,
        languages=languages,
        current=request.url.path,
        holder=holder,
        csrf_token=holder.csrf_token if holder else None,
        **context,
    )
    return page_response(request, html, status_code=status_code)
