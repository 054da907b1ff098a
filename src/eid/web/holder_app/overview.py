"""The signed-in holder's overview: home (who, which level, the account's state), the status of
their applications with the legal deadline, and the documents declared in TK01."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from eid.core.web import get_db
from eid.identity import holder as identity_holder
from eid.identity.dependencies import Holder
from eid.web import holder_api
from eid.web.holder_app.pages import SignedIn, app_page, page_holder, sign_in_redirect, viewed

router = APIRouter(prefix="/app", include_in_schema=False)
DB = Depends(get_db, scope="function")


@router.get("/home", response_class=HTMLResponse)
def home(
    request: Request, holder: SignedIn | None = Depends(page_holder), db: Session = DB
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    viewed(db, holder, "home")
    return app_page(request, "app/home.html", holder=holder, account=holder.account)


@router.get("/status", response_class=HTMLResponse)
def status(
    request: Request, holder: SignedIn | None = Depends(page_holder), db: Session = DB
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    viewed(db, holder, "status")
    return app_page(
        request,
        "app/status.html",
        holder=holder,
        account=holder.account,
        # Composes enrolment and identity (with its own audit record of the read).
        applications=holder_api.my_applications(db, Holder(holder.token, holder.account)),
    )


@router.get("/documents", response_class=HTMLResponse)
def documents(
    request: Request, holder: SignedIn | None = Depends(page_holder), db: Session = DB
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    viewed(db, holder, "documents")
    items = identity_holder.documents(db, holder.account.id)  # the TK01 integrations
    return app_page(request, "app/documents.html", holder=holder, documents=items)
