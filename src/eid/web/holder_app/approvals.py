"""Sign-in requests waiting for the holder's approval on this device (`identity.approvals`):
the relying party, its purpose, the claims it will receive, three numbers to pick the one the
login page shows, then approve with the passkey (`static/app-approvals.js`) or deny."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from eid.core import throttle
from eid.core.web import get_db
from eid.identity import approvals as identity_approvals
from eid.web.holder_app.pages import SignedIn, app_page, page_holder, sign_in_redirect

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get(
    "/approvals",
    response_class=HTMLResponse,
    dependencies=[Depends(throttle.limit(throttle.PUBLIC_READ))],
)
def approvals(
    request: Request,
    holder: SignedIn | None = Depends(page_holder),
    db: Session = Depends(get_db, scope="function"),
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    waiting = identity_approvals.pending(db, holder.account.id)
    return app_page(request, "app/approvals.html", holder=holder, approvals=waiting[:1])
