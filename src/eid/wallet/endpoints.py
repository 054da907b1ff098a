"""/api/v1/wallet: credential issuance, issuer keys, status lists, verifier, QR."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from eid.core import throttle
from eid.core.errors import Forbidden, NotFound
from eid.core.web import get_db
from eid.identity import service as identity
from eid.identity.dependencies import Holder, current_holder
from eid.wallet import (
    certs,
    keys,
    metadata,
    oid4vci_endpoints,
    oid4vp_endpoints,
    qr,
    service,
    status,
    verification,
)
from eid.wallet.schemas import (
    CredentialOut,
    NonceBody,
    NonceOut,
    QrBody,
    VerificationBody,
    VerificationOut,
)

router = APIRouter(prefix="/api/v1/wallet", tags=["wallet"])
me = APIRouter(prefix="/api/v1/me", tags=["holder"])
# Documents at the issuer's own paths: the SD-JWT VC type metadata (`vct`) and the JWT VC issuer
# metadata, public and cached.
public = APIRouter(tags=["wallet"])
routers = [me, public, *oid4vp_endpoints.routers, oid4vci_endpoints.router]
DB = Depends(get_db, scope="function")
DOCUMENT_LIMIT = [Depends(throttle.limit(throttle.PUBLIC_DOCUMENT))]
PUBLIC_CACHE = {"Cache-Control": f"public, max-age={metadata.METADATA_MAX_AGE}"}
# A revocation reaches a verifier that refetches within this much (nextUpdate is days away).
CRL_MAX_AGE = 600


@router.get("/issuer/jwks", dependencies=DOCUMENT_LIMIT)
def issuer_jwks(db: Session = DB) -> dict[str, Any]:
    """The ES256 issuing keys (each with its `x5c`), then the EdDSA key of the first cards."""
    return {"keys": [*certs.public_jwks(db), *keys.issuer_public_jwks()]}


@router.get(
    "/issuer/root.pem",
    response_class=Response,
    dependencies=DOCUMENT_LIMIT,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
def issuer_root(db: Session = DB) -> Response:
    """The eid Root CA certificate: what a verifier pins for the card's `x5c` and mdoc chain."""
    return Response(certs.root_pem(db), media_type="application/x-pem-file", headers=PUBLIC_CACHE)


@router.get(
    "/issuer/root.crl",
    response_class=Response,
    dependencies=DOCUMENT_LIMIT,
    responses={200: {"content": {"application/pkix-crl": {}}}, 304: {"description": "unchanged"}},
)
def issuer_crl(request: Request, db: Session = DB) -> Response:
    """The eid Root CA's certificate revocation list (X.509 v2, DER, RFC 5280): the URL in every
    certificate's cRLDistributionPoints. Re-signed when it changes or nears its nextUpdate; the
    ETag is its CRL number."""
    row = certs.current_crl_row(db)
    headers = {"Cache-Control": f"public, max-age={CRL_MAX_AGE}", "ETag": f'"{row.number}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(row.crl_der, media_type="application/pkix-crl", headers=headers)


@public.get(
    metadata.TYPE_PATH,
    response_class=Response,
    dependencies=DOCUMENT_LIMIT,
    responses={200: {"content": {"application/json": {}}}},
)
def type_metadata() -> Response:
    """SD-JWT VC type metadata of the card (the bytes `vct#integrity` hashes)."""
    return Response(
        metadata.type_metadata_bytes(), media_type="application/json", headers=PUBLIC_CACHE
    )


@public.get("/.well-known/jwt-vc-issuer", dependencies=DOCUMENT_LIMIT)
@public.get("/.well-known/jwt-vc-issuer/{issuer_path:path}", dependencies=DOCUMENT_LIMIT)
def jwt_vc_issuer(request: Request, db: Session = DB) -> Response:
    """JWT VC issuer metadata: at `/.well-known/jwt-vc-issuer` + the issuer URL's path."""
    if request.url.path.rstrip("/") != metadata.jwt_vc_issuer_path():
        raise NotFound("no such issuer here", code="ISSUER_NOT_FOUND")
    return JSONResponse(metadata.jwt_vc_issuer(db), headers=PUBLIC_CACHE)


@router.post("/credentials", status_code=201)
def issue(
    request: Request, who: Holder = Depends(current_holder), db: Session = DB
) -> CredentialOut:
    row, _ = identity.session_for_token(db, who.token)
    if "hwk" not in row.amr:
        # The credential is bound to the device key, so the session must come from that device.
        raise Forbidden(
            "log in with the bound device to receive the card", code="DEVICE_SESSION_REQUIRED"
        )
    card = service.issue_residence_card(db, who.account.id)
    return CredentialOut(
        credential=card.credential, credential_id=card.credential_id, expires_at=card.expires_at
    )


@router.get(
    "/status/{name}",
    response_class=Response,
    dependencies=DOCUMENT_LIMIT,
    responses={
        200: {"content": {"application/statuslist+jwt": {}, "application/statuslist+cwt": {}}}
    },
)
def status_list(name: str, request: Request, db: Session = DB) -> Response:
    """The status list as a JWT, or as a CWT for `Accept: application/statuslist+cwt`."""
    headers = {"Cache-Control": f"max-age={status.TTL_SECONDS // 5}", "Vary": "Accept"}
    if status.CWT_TYPE in request.headers.get("accept", ""):
        return Response(
            status.status_list_cwt(db, name), media_type=status.CWT_TYPE, headers=headers
        )
    return Response(
        status.status_list_jwt(db, name), media_type="application/statuslist+jwt", headers=headers
    )


@router.post(
    "/verifier/nonces", status_code=201, dependencies=[Depends(throttle.limit(throttle.VERIFIER))]
)
def verifier_nonce(body: NonceBody, db: Session = DB) -> NonceOut:
    row = verification.new_nonce(db, body.audience)
    return NonceOut(nonce=row.nonce, audience=row.audience, expires_at=row.expires_at)


@router.post("/verifications", dependencies=[Depends(throttle.limit(throttle.VERIFIER))])
def verify(body: VerificationBody, db: Session = DB) -> VerificationOut:
    card = verification.verify(db, body.presentation, body.nonce)
    return VerificationOut(
        valid=True, status=card.status, disclosed=card.disclosed, claims=card.claims
    )


@router.post(
    "/presentations/qr",
    response_class=Response,
    dependencies=[Depends(throttle.limit(throttle.VERIFIER))],  # drawing a QR costs CPU
)
def presentation_qr(body: QrBody) -> Response:
    return Response(qr.presentation_qr_png(body.presentation), media_type="image/png")


@me.get(
    "/card/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def card_qr(
    claims: str | None = Query(
        default=None,
        max_length=300,
        description="comma-separated claims the code shows (default: name, birth date, "
        "nationality, card kind and expiry)",
    ),
    who: Holder = Depends(current_holder),
    db: Session = DB,
) -> Response:
    """The card's QR: a short link `{issuer}/v/<token>` valid ten minutes (version 4, ECC M)."""
    chosen = tuple(c.strip() for c in claims.split(",")) if claims else service.DEFAULT_CARD_CLAIMS
    made = service.card_qr_svg(db, who.account.id, claims=chosen)
    return Response(
        made.svg,
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "no-store",
            "X-Card-Link-Expires": made.expires_at.isoformat(),
        },
    )
