"""What happened with the holder's account: the inbox, the access history (which party received
which claims, when and why) and the consents given to relying parties, with their withdrawal."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from eid.core.web import get_db
from eid.identity import consents as identity_consents
from eid.identity import holder as identity_holder
from eid.identity.claims import claims_for_scopes
from eid.web.holder_app.pages import SignedIn, app_page, page_holder, sign_in_redirect, viewed

router = APIRouter(prefix="/app", include_in_schema=False)
DB = Depends(get_db, scope="function")


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request, holder: SignedIn | None = Depends(page_holder), db: Session = DB
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    viewed(db, holder, "inbox")
    messages = identity_holder.inbox(db, holder.account.id)
    return app_page(request, "app/inbox.html", holder=holder, messages=messages)


@router.get("/history", response_class=HTMLResponse)
def history(
    request: Request, holder: SignedIn | None = Depends(page_holder), db: Session = DB
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    viewed(db, holder, "history")
    records = identity_consents.access_history(db, holder.account.id)
    return app_page(request, "app/history.html", holder=holder, records=records)


@router.get("/consents", response_class=HTMLResponse)
def consents(
    request: Request, holder: SignedIn | None = Depends(page_holder), db: Session = DB
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    viewed(db, holder, "consents")
    given = [
        (consent, party, claims_for_scopes(list(consent.scopes)))
        for consent, party in identity_consents.list_consents(db, holder.account.id)
    ]
    return app_page(request, "app/consents.html", holder=holder, consents=given)
