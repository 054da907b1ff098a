"""OpenID Connect endpoints: discovery, JWKS, authorize (login and consent pages), token,
userinfo, revocation, introspection."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eid.core.crypto import get_keystore, hash_token
from eid.core.errors import EidError
from eid.core.settings import get_settings
from eid.core.web import get_db, refusal_savepoint
from eid.identity import consents, keys, pages, service
from eid.identity.claims import SUPPORTED_SCOPES, claims_for_scopes, labels
from eid.identity.dependencies import COOKIE
from eid.identity.oauth_adapter import StarletteOAuth2Request, oauth_request
from eid.identity.oauth_server import EidAuthorizationServer, principal
from eid.identity.userinfo import userinfo_response

router = APIRouter(tags=["openid-connect"])

AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "ui_locales",
)


@router.get("/.well-known/openid-configuration")
def discovery() -> dict[str, Any]:
    issuer = get_settings().issuer.rstrip("/")
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "userinfo_endpoint": f"{issuer}/oauth2/userinfo",
        "jwks_uri": f"{issuer}/oauth2/jwks",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [keys.ALG],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SUPPORTED_SCOPES,
        "claims_supported": [
            "sub",
            "acr",
            "amr",
            "auth_time",
            *claims_for_scopes(SUPPORTED_SCOPES),
        ],
        "acr_values_supported": [service.ACR_LEVEL2, service.ACR_LEVEL1],
        "ui_locales_supported": ["vi", "en"],
    }


@router.get("/oauth2/jwks")
def jwks(db: Session = Depends(get_db, scope="function")) -> JSONResponse:
    return JSONResponse(keys.published_jwks(db), headers={"Cache-Control": "max-age=300"})


def _csrf(session_token: str) -> str:
    key = get_keystore().secret("holder-csrf")
    return hmac.new(key, hash_token(session_token).encode(), hashlib.sha256).hexdigest()


def _authlib_response(result: tuple[int, Any, list[tuple[str, str]]], language: str) -> Response:
    status, body, headers = result
    header_map = dict(headers)
    if "Location" in header_map:
        return RedirectResponse(header_map["Location"], status_code=302)
    if isinstance(body, dict) and status >= 400:
        page = pages.error_page(
            language=language,
            error=str(body.get("error")),
            description=body.get("error_description"),
        )
        return HTMLResponse(page, status_code=status)
    return JSONResponse(body, status_code=status, headers=header_map)


def _error(error: OAuth2Error, language: str) -> Response:
    return _authlib_response(error(), language)


def _holder(db: Session, token: str | None) -> tuple[Any, Any] | None:
    if not token:
        return None
    try:
        return service.session_for_token(db, token)
    except EidError:
        return None


def _authorize(
    db: Session, oreq: StarletteOAuth2Request, cookie: str | None, decision: str | None
) -> Response:
    server = EidAuthorizationServer(db)
    language = oreq.payload.data.get("ui_locales", "en")
    try:
        grant = server.get_consent_grant(oreq, end_user=None)
    except OAuth2Error as error:
        return _error(error, language)
    holder = _holder(db, cookie)
    if holder is None:
        params = {k: v for k, v in oreq.payload.data.items() if k in AUTHORIZE_PARAMS}
        next_url = "/oauth2/authorize?" + urlencode(params)
        login = {"next": next_url, "lang": language}
        return RedirectResponse("/oauth2/login?" + urlencode(login), status_code=303)
    row, account = holder
    client = oreq.client
    if decision is None:
        if not account.usable:
            return _authlib_response(
                server.create_authorization_response(oreq, grant_user=None, grant=grant), language
            )
        scopes = oreq.payload.scope.split()
        shown = ["sub", *claims_for_scopes(scopes)]
        names = labels(account.language)
        hidden = {k: v for k, v in oreq.payload.data.items() if k in AUTHORIZE_PARAMS}
        hidden["csrf"] = _csrf(cookie or "")
        page = pages.consent_page(
            language=account.language,
            client_name=client.row.name,
            purpose=client.row.purpose,
            claim_labels=[names[c] for c in shown],
            hidden=hidden,
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
    if not hmac.compare_digest(oreq.payload.data.get("csrf", ""), _csrf(cookie or "")):
        return HTMLResponse(
            pages.error_page(language=account.language, error="csrf", description=None),
            status_code=403,
        )
    user = principal(db, client, account.id) if decision == "allow" else None
    if user is not None:
        consents.give_consent(db, account.id, client.row, oreq.payload.scope.split())
    oreq.holder_session = row
    return _authlib_response(
        server.create_authorization_response(oreq, grant_user=user, grant=grant), language
    )


@router.get("/oauth2/authorize", response_class=HTMLResponse)
async def authorize(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    oreq = await oauth_request(request)
    return await run_in_threadpool(_authorize, db, oreq, request.cookies.get(COOKIE), None)


@router.post("/oauth2/authorize", response_class=HTMLResponse)
async def authorize_decision(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    oreq = await oauth_request(request, form_fields_only=True)
    decision = "allow" if oreq.payload.data.get("decision") == "allow" else "deny"
    return await run_in_threadpool(_authorize, db, oreq, request.cookies.get(COOKIE), decision)


@router.get("/oauth2/login", response_class=HTMLResponse)
def login_form(next: str = "/", lang: str = "en") -> HTMLResponse:
    page = pages.login_page(language=lang, next_url=_safe_next(next))
    return HTMLResponse(page, headers={"X-Frame-Options": "DENY", "Cache-Control": "no-store"})


def _safe_next(next_url: str) -> str:
    # Only back into our own authorize step: never an open redirect.
    return next_url if next_url.startswith("/oauth2/authorize?") else "/"


@router.post("/oauth2/login", response_class=HTMLResponse)
async def login_submit(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    next_url = _safe_next(fields.get("next", "/"))

    def run() -> Response:
        try:
            with refusal_savepoint(db):
                issued = service.login_with_passcode(
                    db,
                    eid_number=fields.get("eid_number", "").strip(),
                    password=fields.get("password", ""),
                    passcode=fields.get("passcode", ""),
                )
        except EidError as error:
            page = pages.login_page(language="en", next_url=next_url, error=error.message)
            return HTMLResponse(page, status_code=error.status)
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            COOKIE,
            issued.token,
            max_age=int(service.SESSION_TTL.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=get_settings().issuer.startswith("https://"),
            path="/",
        )
        return response

    return await run_in_threadpool(run)


@router.post("/oauth2/token")
async def token(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    oreq = await oauth_request(request)
    server = EidAuthorizationServer(db)
    status, body, headers = await run_in_threadpool(server.create_token_response, oreq)
    return JSONResponse(body, status_code=status, headers=dict(headers))


@router.post("/oauth2/revoke")
async def revoke(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    oreq = await oauth_request(request)
    server = EidAuthorizationServer(db)
    status, body, headers = await run_in_threadpool(
        server.create_endpoint_response, "revocation", oreq
    )
    return JSONResponse(body, status_code=status, headers=dict(headers))


@router.post("/oauth2/introspect")
async def introspect(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    oreq = await oauth_request(request)
    server = EidAuthorizationServer(db)
    status, body, headers = await run_in_threadpool(
        server.create_endpoint_response, "introspection", oreq
    )
    return JSONResponse(body, status_code=status, headers=dict(headers))


@router.get("/oauth2/userinfo", operation_id="userinfo_get")
@router.post("/oauth2/userinfo", operation_id="userinfo_post")
async def userinfo(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    authorization = request.headers.get("authorization", "")
    if not authorization and request.method == "POST":
        # RFC 6750 §2.2: the token may come as a form field (oic sends it so).
        form = await request.form()
        token = form.get("access_token")
        if isinstance(token, str):
            authorization = f"Bearer {token}"
    return await run_in_threadpool(userinfo_response, db, authorization)
