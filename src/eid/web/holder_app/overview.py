"""The signed-in holder's overview: home (who, which level, the account's state), the status of
their applications with the legal deadline, and the documents declared in TK01."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.web import get_db
from eid.identity import holder as identity_holder
from eid.identity.dependencies import Holder
from eid.web import holder_api
from eid.web.holder_api import HolderApplicationOut
from eid.web.holder_app.pages import SignedIn, app_page, page_holder, sign_in_redirect, viewed

router = APIRouter(prefix="/app", include_in_schema=False)
DB = Depends(get_db, scope="function")

# Against the legal deadline: decided by it, decided after it, or past it with no decision yet.
Timeliness = Literal["on_time", "late", "overdue"]
# Statuses after which no decision is awaited.
CLOSED = frozenset({"issued", "rejected", "cancelled"})


@dataclass(frozen=True)
class ApplicationShown:
    """An application as the status page shows it: dates are Viet Nam dates, as the law's."""

    level: int
    status: str
    submitted_on: dt.date | None
    legal_deadline: dt.date | None
    decided_on: dt.date | None
    timeliness: Timeliness | None


def shown(item: HolderApplicationOut, today: dt.date) -> ApplicationShown:
    decided_on = item.decided_at.astimezone(clock.VIETNAM).date() if item.decided_at else None
    deadline = item.legal_deadline
    timeliness: Timeliness | None = None
    if deadline is not None and decided_on is not None:
        timeliness = "on_time" if decided_on <= deadline else "late"
    elif deadline is not None and item.status not in CLOSED and today > deadline:
        timeliness = "overdue"
    return ApplicationShown(
        level=item.level,
        status=item.status,
        submitted_on=item.submitted_on,
        legal_deadline=deadline,
        decided_on=decided_on,
        timeliness=timeliness,
    )


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
        applications=[
            shown(item, clock.today_vn())
            for item in holder_api.my_applications(db, Holder(holder.token, holder.account))
        ],
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
