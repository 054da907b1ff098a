"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at `/oauth2/logout`.

A relying party sends the holder here (GET or a form POST) with `id_token_hint`, `client_id`,
`post_logout_redirect_uri`, `state`, `ui_locales`. An ID token we signed (expired or not, §2)
whose pairwise subject is the signed-in holder ends the browser session at once; anything else
asks the holder first (a page in their language, its form carrying the session's anti-forgery
token). The holder goes back only to a `post_logout_redirect_uri` the client registered, matched
exactly, with `state` echoed (§3); otherwise they stay on our "signed out" page.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eid.core import throttle
from eid.core.errors import EidError
from eid.core.settings import get_settings
from eid.core.web import get_db
from eid.identity import clients, keys, pages, service
from eid.identity.dependencies import COOKIE
from eid.identity.models import RelyingParty
from eid.web.security import csp, page_response
from eid.web.templating import holder_language, language_links

router = APIRouter(tags=["openid-connect"])
LOGOUT_LIMIT = Depends(throttle.limit(throttle.OIDC))
PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")


def _hint_claims(db: Session, hint: str) -> dict[str, Any] | None:
    """The claims of an ID token this provider signed (its expiry does not matter, §2)."""
    try:
        token = jwt.decode(
            hint, KeySet.import_key_set(cast(Any, keys.published_jwks(db))), algorithms=[keys.ALG]
        )
    except (JoseError, ValueError, KeyError, TypeError):
        return None
    claims = dict(token.claims)
    return claims if claims.get("iss") == get_settings().issuer else None


def _audience(claims: dict[str, Any]) -> str | None:
    aud = claims.get("aud")
    if isinstance(aud, list):
        aud = aud[0] if len(aud) == 1 else claims.get("azp")
    return aud if isinstance(aud, str) else None


def _back_to(uri: str, state: str | None) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if state:
        query.append(("state", state))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _refused(language: str, description: str) -> Response:
    page = pages.error_page(language=language, error="invalid_request", description=description)
    return HTMLResponse(page, status_code=400, headers={"Cache-Control": "no-store"})


def _holder_session(db: Session, token: str | None) -> Any:
    if not token:
        return None
    try:
        return service.session_for_token(db, token)
    except EidError:
        return None


def _logout(
    db: Session,
    request: Request,
    params: dict[str, str],
    cookie: str | None,
    confirmation: str | None,
) -> Response:
    ui_locales = ",".join(params.get("ui_locales", "").split()) or None
    language = holder_language(request, ui_locales)
    hint = _hint_claims(db, params["id_token_hint"]) if params.get("id_token_hint") else None
    client_id = params.get("client_id") or None
    hinted = _audience(hint) if hint else None
    if client_id and hinted and client_id != hinted:
        return _refused(language, "client_id does not match the id_token_hint's audience")
    client: RelyingParty | None = clients.get_client(db, client_id or hinted or "")
    back = params.get("post_logout_redirect_uri") or None
    if back is not None and (client is None or back not in client.post_logout_redirect_uris):
        # §3: never a redirect to a URI the client did not register.
        return _refused(language, "post_logout_redirect_uri is not registered for the client")
    holder = _holder_session(db, cookie)
    if holder is not None:
        language = holder_language(request, holder[1].language, ui_locales)
        hint_is_holder = (
            hint is not None
            and client is not None
            and hint.get("sub") == clients.pairwise_subject(client, holder[1].id)
        )
        if confirmation is None and not hint_is_holder:
            # §2: no hint of this holder's session: the holder says whether to sign out.
            hidden = {k: v for k, v in params.items() if k in PARAMS and k != "id_token_hint"}
            if client is not None:
                hidden["client_id"] = client.client_id
            page = pages.logout_page(
                language=language,
                confirm=True,
                client_name=client.name if client else None,
                hidden={**hidden, "csrf": service.holder_csrf_token(cookie or "")},
                languages=language_links("/oauth2/logout", hidden),
            )
            policy = csp(form_action=[_origin(back)] if back else [])
            return page_response(request, page, policy=policy)
        if confirmation is not None and not service.csrf_matches(cookie or "", confirmation):
            page = pages.error_page(language=language, error="csrf", description=None)
            return HTMLResponse(page, status_code=403, headers={"Cache-Control": "no-store"})
        service.end_session(db, cookie or "")
    if back is not None:
        status = 303 if request.method == "POST" else 302
        response: Response = RedirectResponse(_back_to(back, params.get("state")), status)
    else:
        page = pages.logout_page(language=language, confirm=False, client_name=None)
        response = page_response(request, page)
    if cookie:
        response.delete_cookie(
            COOKIE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=get_settings().issuer.startswith("https://"),
        )
    return response


@router.get("/oauth2/logout", response_class=HTMLResponse, dependencies=[LOGOUT_LIMIT])
async def end_session(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    params = {k: v for k, v in request.query_params.items() if k in PARAMS}
    cookie = request.cookies.get(COOKIE)
    return await run_in_threadpool(_logout, db, request, params, cookie, None)


@router.post("/oauth2/logout", response_class=HTMLResponse, dependencies=[LOGOUT_LIMIT])
async def end_session_post(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    """The relying party's form POST (§2), or the holder's answer on the confirmation page
    (`decision=logout` with the page's `csrf`)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    params = {k: v for k, v in fields.items() if k in PARAMS}
    confirmation = fields.get("csrf", "") if fields.get("decision") == "logout" else None
    cookie = request.cookies.get(COOKIE)
    return await run_in_threadpool(_logout, db, request, params, cookie, confirmation)
