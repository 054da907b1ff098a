"""The e-residence card: its claims as the credential carries them and a QR code an ordinary
phone camera reads (a short link to the check page, `eid.wallet.card_link`), and that check
page for whoever scans it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import audit, throttle
from eid.core.audit import Actor
from eid.core.errors import EidError
from eid.core.settings import get_settings
from eid.core.web import get_db
from eid.wallet import card_link
from eid.wallet import service as wallet
from eid.web.holder_app.pages import (
    SignedIn,
    app_page,
    page_holder,
    page_language,
    sign_in_redirect,
    viewed,
)

router = APIRouter(prefix="/app", include_in_schema=False)
DB = Depends(get_db, scope="function")


def _link(request: Request, token: str) -> str:
    base = (get_settings().issuer or str(request.base_url)).rstrip("/")
    return f"{base}/app/check/{token}"


@router.get("/card", response_class=HTMLResponse)
def card(
    request: Request, holder: SignedIn | None = Depends(page_holder), db: Session = DB
) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    viewed(db, holder, "card")
    lang = page_language(request, holder)
    token, expires = card_link.make_token(holder.account.id)
    link = _link(request, token)
    return app_page(
        request,
        "app/card.html",
        holder=holder,
        lang=lang,
        account=holder.account,
        claims=wallet.card_claims(holder.account),
        qr=card_link.qr_svg(link),
        link=link,
        link_expires=expires,
        passport=True,
    )


@router.get(
    "/check/{token}",
    response_class=HTMLResponse,
    dependencies=[Depends(throttle.limit(throttle.PUBLIC_READ))],
)
def check(request: Request, token: str, db: Session = DB) -> Response:
    """What a scanned card shows: valid now or not, and the card's facts while the link lives.
    The read is audited on the holder's account (who looked: the link's bearer)."""
    try:
        account_id = card_link.read_token(token)
        account = authority.get_account(db, account_id)
    except EidError:
        return app_page(request, "app/check.html", account=None, status_code=404)
    audit.record(
        db,
        Actor(kind="system", id="card-link", role="verifier"),
        "wallet.card_link_read",
        "account",
        account.id,
        reason="a QR code of the e-residence card was scanned",
    )
    return app_page(
        request,
        "app/check.html",
        account=account,
        claims=wallet.card_claims(account),
        valid=account.usable,
        passport=False,
    )
