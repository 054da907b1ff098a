"""Userinfo: the one place eKYC claims leave, each release written to the access history."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import audit, clock
from eid.core.crypto import hash_token
from eid.identity import clients, consents, dpop
from eid.identity.claims import claim_values, claims_for_scopes
from eid.identity.models import OAuthToken
from eid.identity.oauth_server import client_actor


def _refuse(description: str) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_token", "error_description": description},
        status_code=401,
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
    )


def _refuse_dpop(error: str, description: str) -> JSONResponse:
    """RFC 9449 §7.1: the DPoP scheme's challenge."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=401,
        headers={"WWW-Authenticate": dpop.resource_challenge(error, description)},
    )


def userinfo_response(
    db: Session,
    authorization: str,
    proofs: list[str] | None = None,
    method: str = "GET",
    uri: str = "",
) -> Response:
    scheme, _, token = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "dpop") or not token:
        # RFC 6750 §3.1: a request without any credentials gets no error code at all.
        return Response(
            status_code=401,
            headers={"WWW-Authenticate": f'Bearer realm="eid", {dpop.resource_challenge()}'},
        )
    row = db.execute(
        select(OAuthToken).where(OAuthToken.access_token_hash == hash_token(token))
    ).scalar_one_or_none()
    if (
        row is None
        or row.access_revoked
        or row.issued_at + row.expires_in < clock.now().timestamp()
    ):
        return _refuse("the access token is not valid")
    refused = dpop.check_resource_request(
        db,
        scheme=scheme,
        token=token,
        bound_jkt=row.dpop_jkt,
        proofs=proofs or [],
        method=method,
        uri=uri,
    )
    if refused is not None:
        return _refuse_dpop(*refused)
    if "openid" not in row.scope.split():
        # OpenID Connect Core §5.3: userinfo is for OpenID tokens; a wallet's credential token
        # (OpenID4VCI) opens only the credential endpoint.
        return JSONResponse(
            {"error": "insufficient_scope", "error_description": "the token has no openid scope"},
            status_code=403,
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    client = clients.get_client(db, row.client_id)
    account = authority.get_account(db, row.account_id)
    if client is None or not account.usable:
        audit.record(
            db,
            client_actor(row.client_id),
            "oidc.refused_unusable_account",
            "account",
            row.account_id,
        )
        return _refuse("the account cannot be used")
    if consents.active_consent(db, row.account_id, row.client_id) is None:
        return _refuse("the holder withdrew consent")
    # Agreement scopes are re-read now: a narrowed agreement takes effect at once.
    scopes = [s for s in row.scope.split() if s in client.scopes]
    claims = claims_for_scopes(scopes)
    body: dict[str, Any] = {"sub": clients.pairwise_subject(client, row.account_id)}
    body.update(claim_values(db, account, claims))
    released = [c for c in claims if c in body]
    if released:
        consents.record_release(db, row.account_id, client, released, "userinfo")
    audit.record(
        db,
        client_actor(client.client_id),
        "oidc.claims_released",
        "account",
        row.account_id,
        details={"claims": released},
    )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
