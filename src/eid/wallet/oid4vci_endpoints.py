"""OpenID4VCI 1.0 over HTTP: issuer metadata, offers (the holder's and the wallet's side), the
nonce endpoint and the credential endpoint. The token endpoint is identity's (`/oauth2/token`,
the grant in `oid4vci_grant`). Errors of the protocol endpoints keep the OAuth shape
(`{"error", "error_description"}`); the holder API's keep eid's."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eid.core import clock, throttle
from eid.core.crypto import hash_token
from eid.core.errors import Forbidden, ValidationFailed
from eid.core.openapi_errors import declared
from eid.core.web import get_db
from eid.i18n import negotiate
from eid.identity import dpop
from eid.identity import service as identity
from eid.identity.dependencies import Holder, current_holder
from eid.identity.models import OAuthToken
from eid.identity.oauth_adapter import public_url
from eid.wallet import oid4vci, oid4vci_authorization, qr

router = APIRouter(tags=["openid4vci"])
DB = Depends(get_db, scope="function")
READ_LIMIT = Depends(throttle.limit(throttle.PUBLIC_READ))
OIDC_LIMIT = Depends(throttle.limit(throttle.OIDC))
MAX_BODY = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/.well-known/openid-credential-issuer", dependencies=[READ_LIMIT])
def credential_issuer_metadata() -> JSONResponse:
    """§12.2.2; display texts in every language (the wallet picks by `locale`)."""
    return JSONResponse(oid4vci.issuer_metadata(), headers={"Cache-Control": "max-age=300"})


@router.get("/.well-known/oauth-authorization-server", dependencies=[READ_LIMIT])
def authorization_server_metadata(response: Response) -> dict[str, Any]:
    """RFC 8414: eid's OpenID provider metadata, plus what a wallet needs of it (§6, §12.3)."""
    from eid.identity.oidc_endpoints import discovery

    metadata = discovery(response)
    metadata["grant_types_supported"] = [
        *metadata["grant_types_supported"],
        oid4vci.PRE_AUTHORIZED_GRANT,
    ]
    metadata["pre-authorized_grant_anonymous_access_supported"] = True
    # RFC 9396 §10 / OpenID4VCI §5.1.1: a wallet may ask for the card by authorization_details.
    metadata["authorization_details_types_supported"] = [oid4vci_authorization.DETAILS_TYPE]
    metadata["scopes_supported"] = [*metadata["scopes_supported"], *oid4vci.SCOPES.values()]
    return metadata


# ---------------------------------------------------------------- offers


class OfferBody(BaseModel):
    credential_configuration_ids: list[str] = Field(
        default_factory=lambda: [oid4vci.SD_JWT_CONFIGURATION], min_length=1, max_length=4
    )
    for_this_app: bool = Field(
        default=False,
        description="the holder app itself is the wallet: the codes come back in the answer "
        "(nothing is sent by SMS or e-mail)",
    )
    authorization_code: bool = Field(
        default=False,
        description="the offer carries the authorization_code grant too (OpenID4VCI §4.1.1), "
        "with an issuer_state binding the wallet's authorization request to this offer: for a "
        "wallet registered with eid that signs the holder in instead of asking for the "
        "transaction code",
    )


class OfferOut(BaseModel):
    offer_id: str
    credential_offer_uri: str
    deep_link: str = Field(description="openid-credential-offer://… : what the QR carries")
    expires_at: dt.datetime
    tx_code_sent_to: list[str]
    credential_offer: dict[str, Any] | None = Field(
        default=None, description="for_this_app only: the offer with its pre-authorized code"
    )
    tx_code: str | None = None
    qr_svg: str | None = Field(
        default=None, description="the QR of `deep_link` (SVG) for another wallet to scan"
    )


@router.post(
    "/api/v1/me/wallet/offers",
    status_code=201,
    tags=["holder"],
    dependencies=[Depends(throttle.limit(throttle.PHONE_CODE_SEND))],  # each one sends an SMS
)
def make_offer(
    body: OfferBody, who: Holder = Depends(current_holder), db: Session = DB
) -> OfferOut:
    """An offer of the holder's card for a wallet (OpenID4VCI §4.1). For another wallet: a QR
    (`deep_link`) and a transaction code sent to the holder's verified phone and e-mail. With
    `for_this_app` (a session of the holder's bound device only) the app receives the codes."""
    row, account = identity.session_for_token(db, who.token)
    if body.for_this_app and "hwk" not in row.amr and who.via != "cookie":
        raise Forbidden(
            "log in with the bound device to receive the card", code="DEVICE_SESSION_REQUIRED"
        )
    try:
        offer = oid4vci.create_offer(
            db,
            account.id,
            configuration_ids=body.credential_configuration_ids,
            acr=row.acr,
            for_this_app=body.for_this_app,
            authorization_code=body.authorization_code,
        )
    except oid4vci.OfferRefused as refused:
        raise ValidationFailed(
            "choose what the code shows among %(allowed)s",
            code="CREDENTIAL_CONFIGURATION_INVALID",
            params={"allowed": ", ".join(oid4vci.configurations())},
        ) from refused
    document = None
    if offer.pre_authorized_code is not None:
        document = oid4vci.offer_json(
            body.credential_configuration_ids,
            offer.pre_authorized_code,
            account.language,
            offer.issuer_state,
        )
    return OfferOut(
        offer_id=str(offer.offer_id),
        credential_offer_uri=offer.credential_offer_uri,
        deep_link=offer.deep_link,
        expires_at=offer.expires_at,
        tx_code_sent_to=offer.tx_code_sent_to,
        credential_offer=document,
        tx_code=offer.tx_code,
        qr_svg=None if body.for_this_app else qr.card_link_svg(offer.deep_link),
    )


@router.get("/oid4vci/offers/{token}", dependencies=[OIDC_LIMIT])
def credential_offer(token: str, request: Request, db: Session = DB) -> JSONResponse:
    """§4.1.3: the offer behind `credential_offer_uri`, served once."""
    language = negotiate(request.headers.get("accept-language"))
    document = oid4vci.offer_document(db, token[:100], language) if len(token) <= 100 else None
    if document is None:
        return JSONResponse(
            {"error": "not_found", "error_description": "unknown, used or expired offer"},
            status_code=404,
            headers=NO_STORE,
        )
    return JSONResponse(document, headers=NO_STORE)


# ---------------------------------------------------------------- nonce and credential


@router.post("/oid4vci/nonce", dependencies=[OIDC_LIMIT])
def nonce(db: Session = DB) -> JSONResponse:
    """§7.2: a fresh `c_nonce`, not cacheable."""
    return JSONResponse({"c_nonce": oid4vci.new_nonce(db)}, headers=NO_STORE)


def _unauthorized(error: str | None, description: str | None, scheme: str) -> JSONResponse:
    if scheme == "dpop":
        challenge = dpop.resource_challenge(error, description)
    else:
        parts = ['Bearer realm="eid"']
        if error:
            parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{description}"')
        challenge = ", ".join(parts) + f", {dpop.resource_challenge()}"
    body = {"error": error, "error_description": description} if error else None
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": challenge})


def _credential(
    db: Session, authorization: str, proofs: list[str], uri: str, raw: bytes
) -> JSONResponse:
    scheme, _, token = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "dpop") or not token:
        return _unauthorized(None, None, "bearer")
    row = db.execute(
        select(OAuthToken).where(OAuthToken.access_token_hash == hash_token(token))
    ).scalar_one_or_none()
    if (
        row is None
        or row.access_revoked
        or row.issued_at + row.expires_in < clock.now().timestamp()
    ):
        return _unauthorized("invalid_token", "the access token is not valid", scheme)
    refused = dpop.check_resource_request(
        db,
        scheme=scheme,
        token=token,
        bound_jkt=row.dpop_jkt,
        proofs=proofs,
        method="POST",
        uri=uri,
    )
    if refused is not None:
        return _unauthorized(refused[0], refused[1], "dpop")
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    grant = oid4vci.AccessGrant(
        account_id=row.account_id,
        scope=row.scope,
        client_id=row.client_id,
        authorization_details=oid4vci.granted_authorization_details(db, row.origin_code_hash),
    )
    try:
        answer = oid4vci.issue_credential(db, grant, body)
    except oid4vci.CredentialError as error:
        return JSONResponse(
            {"error": error.error, "error_description": error.description},
            status_code=error.status,
            headers=NO_STORE,
        )
    return JSONResponse(answer, headers=NO_STORE)


@router.post(
    "/oid4vci/credential", dependencies=[OIDC_LIMIT], responses=declared(400, 401, oauth=True)
)
async def credential(request: Request, db: Session = DB) -> Response:
    """§8: the credential for a (DPoP-bound) access token and a proof of the wallet's key."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return JSONResponse(
                {"error": "invalid_credential_request", "error_description": "body too large"},
                status_code=413,
            )
    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse(
            {
                "error": "invalid_credential_request",
                "error_description": "the body must be application/json",
            },
            status_code=400,
        )
    return await run_in_threadpool(
        _credential,
        db,
        request.headers.get("authorization", ""),
        dpop.proofs_of(request.headers),
        public_url(request).split("?", 1)[0],
        raw,
    )
