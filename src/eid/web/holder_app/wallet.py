"""Add my card to a wallet (OpenID4VCI, `eid.wallet.oid4vci`): a QR of a credential offer for a
wallet app on another phone (the 6-digit code goes to the holder's phone by SMS, and e-mail), or
this app itself as the wallet (`static/app-wallet.js`: a non-extractable ES256 key made with
WebCrypto and kept in IndexedDB, the proof, the card kept in IndexedDB; the service worker never
stores any of it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from eid.core import throttle
from eid.wallet import service as wallet
from eid.web.holder_app.pages import SignedIn, app_page, page_holder, sign_in_redirect

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get(
    "/wallet",
    response_class=HTMLResponse,
    dependencies=[Depends(throttle.limit(throttle.PUBLIC_READ))],
)
def add_to_wallet(request: Request, holder: SignedIn | None = Depends(page_holder)) -> Response:
    if holder is None:
        return sign_in_redirect(request)
    return app_page(request, "app/wallet.html", holder=holder, claims=list(wallet.DISCLOSABLE))
