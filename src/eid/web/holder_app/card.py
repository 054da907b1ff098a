"""The e-residence card: its claims as the credential carries them, and the card's QR code an
ordinary phone camera reads: a short link (`{issuer}/v/<token>`, ten minutes) made by the wallet
(`eid.wallet.service.card_qr_svg`), whose page shows a verifier the card's state and a few
claims (`DEFAULT_CARD_CLAIMS`: no document numbers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from eid.core.web import get_db
from eid.wallet import service as wallet
from eid.web.holder_app.pages import SignedIn, app_page, page_holder, sign_in_redirect, viewed

router = APIRouter(prefix="/app", include_in_schema=False)
DB = Depends(get_db, scope="function")


@router.get("/card", response_class=HTMLResponse)
def card(
    request: Request, holder: SignedIn | None = Depends(page_holder), db: Session = DB
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    viewed(db, holder, "card")
    made = wallet.card_qr_svg(db, holder.account.id)
    # Hidden from assistive technology: the page names the code around it, in its language.
    svg = made.svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return app_page(
        request,
        "app/card.html",
        holder=holder,
        account=holder.account,
        claims=wallet.card_claims(holder.account),
        qr=svg,
        link=made.url,
        link_expires=made.expires_at,
    )
