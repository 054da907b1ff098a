"""The holder's account pages: activate (with a passkey), sign in (passkey first, or password and
passcode), the bound device and rebinding it (password, SMS code, selfie, new passkey), and
password and passcode changes.

The pages carry no secret: their scripts (`static/account.js`, with `passkey.js`) call the
identity API (`/api/v1/identity/...`, `/api/v1/me/...`) with `"cookie": true`, so the session
lands in the HttpOnly cookie, and send the page's CSRF token on every change.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from eid.core import throttle
from eid.core.web import get_db
from eid.identity import holder as identity_holder
from eid.web.holder_app.pages import app_page, sign_in_redirect, signed_in

router = APIRouter(prefix="/app", include_in_schema=False)

HOME = "/app/home"


def _next(request: Request) -> str:
    """Where to go after signing in: a page of this app only (never an open redirect). Dot
    segments, plain or percent-encoded, are refused too: a browser resolves `/app/..//evil` to
    `//evil`, which a later redirect could hand on as another host."""
    target = request.query_params.get("next", "")
    path = urlsplit(target).path
    segments = unquote(path).split("/")
    if (
        target.startswith("/app/")
        and "//" not in unquote(path)
        and "\\" not in unquote(target)
        and not {".", ".."} & set(segments)
    ):
        return target
    return HOME


@router.get("/activate", response_class=HTMLResponse)
def activate(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    """e-ID number and activation code from the message, a password, a passcode, a passkey."""
    holder = signed_in(request, db)
    return app_page(request, "app/activate.html", holder=holder, home=HOME)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    target = _next(request)
    if signed_in(request, db) is not None:
        return RedirectResponse(target, status_code=303)
    return app_page(request, "app/sign_in.html", next_url=target)


# Pages that show the signed-in holder's own data are rate limited like any other read.
PAGE_LIMIT = [Depends(throttle.limit(throttle.PUBLIC_READ))]


@router.get("/device", response_class=HTMLResponse, dependencies=PAGE_LIMIT)
def device(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    """The bound device and rebinding. Signed out too: a holder who lost the phone with the
    passkey cannot sign in with it, and rebinds with the e-ID number, password, SMS code and
    a selfie."""
    holder = signed_in(request, db)
    devices = identity_holder.list_devices(db, holder.account.id) if holder else []
    return app_page(request, "app/device.html", holder=holder, devices=devices, home=HOME)


@router.get("/security", response_class=HTMLResponse, dependencies=PAGE_LIMIT)
def security(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    holder = signed_in(request, db)
    if holder is None:
        return sign_in_redirect(request)
    return app_page(request, "app/security.html", holder=holder)
