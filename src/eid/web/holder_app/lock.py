"""Locking the account at once (signed in), and unlocking it with the e-ID number, password and
passcode (a locked account has no usable session, so the page works signed out too)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from eid.web.holder_app.pages import SignedIn, app_page, page_holder

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/lock", response_class=HTMLResponse)
def lock(request: Request, holder: SignedIn | None = Depends(page_holder)) -> Response:
    return app_page(request, "app/lock.html", holder=holder)
