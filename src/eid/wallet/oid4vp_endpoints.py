"""OpenID4VP 1.0 verifier endpoints.

Relying party (client-authenticated as at the token endpoint, form body):
  POST /api/v1/oid4vp/requests               preset [credential_format] | dcql_query,
                                             [redirect_uri], [response_mode] -> 201
  POST /api/v1/oid4vp/requests/{id}/result   [response_code] -> the outcome, once
Wallet (anonymous, throttled):
  GET  /oid4vp/request/{handle}              the signed request object (once)
  POST /oid4vp/response                      direct_post: vp_token + state (or error + state)
Relying party's counter (the request id is the capability):
  GET  /verify/{id}, /verify/{id}/status, /verify/{id}/qr.svg
"""

from __future__ import annotations

import io
import json
from typing import Any

import segno
from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from eid.core import clock, throttle
from eid.core.errors import ValidationFailed
from eid.core.openapi_errors import declared
from eid.core.web import get_db
from eid.identity.dependencies import Holder, current_holder
from eid.identity.models import RelyingParty
from eid.identity.oauth_adapter import StarletteOAuth2Request, oauth_request
from eid.identity.oauth_models import AUTH_METHODS
from eid.identity.oauth_server import EidAuthorizationServer
from eid.wallet import oid4vp, qr
from eid.wallet.oid4vp_models import PresentationRequest
from eid.web.security import page_response
from eid.web.templating import holder_language, language_links, render

api = APIRouter(prefix="/api/v1/oid4vp", tags=["oid4vp"])
wallet = APIRouter(prefix="/oid4vp", tags=["oid4vp"], include_in_schema=False)
pages = APIRouter(include_in_schema=False)
routers = [api, wallet, pages]
DB = Depends(get_db, scope="function")
LIMIT = Depends(throttle.limit(throttle.VERIFIER))
# A relying party's calls: credential endpoints, limited as the token endpoint is.
CLIENT_LIMIT = Depends(throttle.limit(throttle.OIDC))
_AUTH = ("client_id", "client_secret", "client_assertion", "client_assertion_type")
# The verifier page's QR: drawn on screen this many CSS pixels wide (see verify/page.html).
QR_ERROR = "m"


def _oauth_error(error: OAuth2Error) -> JSONResponse:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = str(error.description)
    headers = {"Cache-Control": "no-store"}
    if error.status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="eid"'
    return JSONResponse(body, status_code=int(error.status_code or 400), headers=headers)


def _authenticate(db: Session, oreq: StarletteOAuth2Request) -> RelyingParty:
    client = EidAuthorizationServer(db).authenticate_client(
        oreq, list(AUTH_METHODS), "oid4vp_request"
    )
    row: RelyingParty = client.row
    return row


@api.post("/requests", status_code=201, dependencies=[CLIENT_LIMIT], responses=declared(401))
async def create_request(request: Request, db: Session = DB) -> Response:
    """A presentation request: `preset` (landlord, bank_ekyc; `credential_format` dc+sd-jwt,
    mso_mdoc or either) or `dcql_query` (JSON, §6), and optionally `redirect_uri` (registered)
    for the same-device flow."""
    oreq = await oauth_request(request, form_fields_only=True)

    def run() -> Response:
        try:
            client = _authenticate(db, oreq)
        except OAuth2Error as error:
            return _oauth_error(error)
        form = oreq.form
        query: Any = None
        if "dcql_query" in form:
            try:
                query = json.loads(form["dcql_query"])
            except ValueError:
                raise ValidationFailed("dcql_query is not JSON", code="DCQL_INVALID") from None
        made = oid4vp.create_request(
            db,
            client,
            preset=form.get("preset"),
            dcql_query=query,
            redirect_uri=form.get("redirect_uri"),
            response_mode=form.get("response_mode"),
            credential_format=form.get("credential_format"),
        )
        return JSONResponse(
            {
                "id": made.id,
                "wallet_url": made.wallet_url,
                "request_uri": made.request_uri,
                "page_url": made.page_url,
                "expires_at": made.expires_at.isoformat(),
                "dcql_query": made.dcql_query,
            },
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )

    return await run_in_threadpool(run)


def _outcome_body(outcome: oid4vp.Outcome) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "outcome": outcome.outcome,
        "credentials": outcome.claims,
        "expires_at": outcome.expires_at.isoformat(),
    }


@api.post(
    "/requests/{request_id}/result", dependencies=[CLIENT_LIMIT], responses=declared(401, 404)
)
async def collect_result(request_id: str, request: Request, db: Session = DB) -> Response:
    """The outcome: `pending` until the wallet answers; then once `verified` (with the claims
    disclosed) or `refused` (with the reason); after that `collected`, the claims gone."""
    oreq = await oauth_request(request, form_fields_only=True)

    def run() -> Response:
        try:
            client = _authenticate(db, oreq)
        except OAuth2Error as error:
            return _oauth_error(error)
        outcome = oid4vp.collect(db, client, request_id[:64], oreq.form.get("response_code"))
        return JSONResponse(_outcome_body(outcome), headers={"Cache-Control": "no-store"})

    return await run_in_threadpool(run)


@wallet.get("/request/{handle}", dependencies=[LIMIT])
def request_object(handle: str, db: Session = DB) -> Response:
    try:
        jwt = oid4vp.request_object(db, handle[:64])
    except oid4vp.RequestUnavailable:
        # RFC 9101 §6.2 / OpenID4VP §5.10: the wallet reports invalid_request_uri.
        return JSONResponse(
            {"error": "invalid_request_uri", "error_description": "unknown, used or expired"},
            status_code=404,
            headers={"Cache-Control": "no-store"},
        )
    return Response(
        jwt, media_type="application/oauth-authz-req+jwt", headers={"Cache-Control": "no-store"}
    )


@wallet.post("/response", dependencies=[LIMIT])
async def direct_post(request: Request, db: Session = DB) -> Response:
    """§8.2 response mode direct_post: form-encoded vp_token and state (or error and state)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}

    def run() -> Response:
        try:
            body = oid4vp.accept_response(db, fields)
        except oid4vp.ResponseError as error:
            return JSONResponse(
                {"error": error.error, "error_description": error.description},
                status_code=error.status_code,
                headers={"Cache-Control": "no-store"},
            )
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return await run_in_threadpool(run)


# -- the relying party's counter page ----------------------------------------------------------


def qr_svg(url: str) -> str:
    code = segno.make(url, error=QR_ERROR, micro=False, boost_error=False)
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        scale=1,
        border=qr.QUIET_ZONE,
        light="#fff",
        xmldecl=False,
        svgclass="qr",
        omitsize=True,  # the page sizes it (viewBox only)
    )
    return buffer.getvalue().decode()


@pages.get("/verify/{request_id}", response_class=HTMLResponse, dependencies=[LIMIT])
def verify_page(request: Request, request_id: str, db: Session = DB) -> HTMLResponse:
    row = db.get(PresentationRequest, request_id[:64])
    lang = holder_language(request)
    languages = language_links(request.url.path, request.query_params)
    if row is None:  # unknown, or purged: the page says the request is over
        gone = oid4vp.Outcome("expired", None, None, clock.now())
        html = render(
            "verify/page.html",
            lang=lang,
            request_id="",
            wallet_url="",
            qr="",
            client_name="",
            outcome=gone,
            languages=languages,
        )
        return page_response(request, html, status_code=404)
    url = oid4vp.wallet_url(row.handle)
    client = db.get(RelyingParty, row.client_id)
    html = render(
        "verify/page.html",
        lang=lang,
        request_id=row.id,
        wallet_url=url,
        qr=qr_svg(url),
        client_name=client.name if client else "",
        outcome=oid4vp.page_outcome(db, row.id),
        languages=languages,
    )
    return page_response(request, html)


@pages.get("/verify/{request_id}/status", dependencies=[LIMIT])
def verify_status(request_id: str, db: Session = DB) -> Response:
    outcome = oid4vp.page_outcome(db, request_id[:64])
    return JSONResponse(_outcome_body(outcome), headers={"Cache-Control": "no-store"})


# -- the holder: what a request asks, and declining it ------------------------------------------

me = APIRouter(prefix="/api/v1/me/presentation-requests", tags=["holder"])
routers.append(me)


class WalletUrlBody(BaseModel):
    wallet_url: str = Field(max_length=1000, description="the openid4vp:// URL (QR or link)")


def _preview_body(made: oid4vp.Preview) -> dict[str, Any]:
    return {
        "relying_party": made.relying_party,
        "purpose": made.purpose,
        "verified_by": "eid",
        "verifier": made.verifier,
        "claims": [{"name": c.name, "required": c.required} for c in made.claims],
        "expires_at": made.expires_at.isoformat(),
        "open": made.open,
    }


@me.post("/preview")
def preview_request(
    body: WalletUrlBody, who: Holder = Depends(current_holder), db: Session = DB
) -> dict[str, Any]:
    """Who asks (the relying party eid registered, its purpose) and which claims (required or
    optional), without spending the request: the wallet then answers it by OpenID4VP."""
    return _preview_body(oid4vp.preview(db, body.wallet_url))


@me.post("/decline", status_code=204)
def decline_request(
    body: WalletUrlBody, who: Holder = Depends(current_holder), db: Session = DB
) -> Response:
    oid4vp.decline(db, who.account.id, body.wallet_url)
    return Response(status_code=204)


@pages.get("/app/present", response_class=HTMLResponse, dependencies=[LIMIT])
def present_page(request: Request, db: Session = DB) -> Response:
    """The holder app opening an `openid4vp://` request (pasted, scanned, or `?request=`):
    who asks, for what, and which claims; the holder may untick the optional ones."""
    from eid.web.holder_app.pages import app_page, sign_in_redirect, signed_in

    holder = signed_in(request, db)
    if holder is None:
        return sign_in_redirect(request)
    wallet_url = request.query_params.get("request", "")[:1000]
    made: oid4vp.Preview | None = None
    problem: str | None = None
    if wallet_url:
        try:
            made = oid4vp.preview(db, wallet_url)
        except (ValidationFailed, oid4vp.RequestUnavailable):
            problem = "unknown"
    return app_page(
        request,
        "verify/present.html",
        holder=holder,
        wallet_url=wallet_url,
        preview=made,
        problem=problem,
    )
