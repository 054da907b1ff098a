"""OpenID Connect endpoints: discovery, JWKS, authorize (login and consent pages), token,
userinfo, revocation, introspection."""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eid.core import clock, throttle
from eid.core.database import get_engine, unit_of_work
from eid.core.errors import EidError
from eid.core.settings import get_settings
from eid.core.web import get_db, refusal_savepoint
from eid.i18n import SUPPORTED as LANGUAGES
from eid.identity import (
    client_auth,
    clients,
    consents,
    dpop,
    keys,
    pages,
    par,
    request_objects,
    service,
    token_grants,
)
from eid.identity.claims import SUPPORTED_SCOPES, claims_for_scopes
from eid.identity.dependencies import COOKIE
from eid.identity.oauth_adapter import StarletteOAuth2Request, oauth_request, public_url
from eid.identity.oauth_models import AUTH_METHODS
from eid.identity.oauth_server import EidAuthorizationServer, principal
from eid.identity.userinfo import userinfo_response
from eid.web.security import csp, page_response
from eid.web.templating import holder_language, language_links

router = APIRouter(tags=["openid-connect"])
# Anonymous or client-authenticated: a per-IP limit on each (core.throttle).
OIDC_LIMIT = Depends(throttle.limit(throttle.OIDC))
DOCUMENT_LIMIT = [Depends(throttle.limit(throttle.PUBLIC_DOCUMENT))]

# Set on the way to a forced login (prompt=login, max_age): a session made at or after this
# second is the fresh authentication asked for. Editing it in the URL only gets the browser's own
# holder an old `auth_time` in the ID token, which the relying party checks.
LOGIN_AFTER = "login_after"

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
    "max_age",
    "login_hint",
    "acr_values",
    "claims",
    "id_token_hint",
    # OpenID4VCI 1.0 §5.1.1 and §5.1.3: a wallet's request for the card
    "authorization_details",
    "issuer_state",
    LOGIN_AFTER,
)

# Authentication context classes, weakest first: a stronger one satisfies a weaker request.
ACR_RANK = {service.ACR_LEVEL1: 1, service.ACR_LEVEL2: 2}


@router.get("/.well-known/openid-configuration", dependencies=DOCUMENT_LIMIT)
def discovery(response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = keys.CACHE_CONTROL
    issuer = get_settings().issuer.rstrip("/")
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "userinfo_endpoint": f"{issuer}/oauth2/userinfo",
        "jwks_uri": f"{issuer}/oauth2/jwks",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "end_session_endpoint": f"{issuer}/oauth2/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [keys.ALG],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        # FAPI 2.0 §5.3.2.1 / RFC 7523: the assertion's algorithms, at every endpoint.
        "token_endpoint_auth_signing_alg_values_supported": client_auth.ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": client_auth.ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": client_auth.ALGORITHMS,
        # RFC 9126: PAR for every client; required (per client) of FAPI 2.0 clients only.
        "pushed_authorization_request_endpoint": f"{issuer}/oauth2/par",
        "require_pushed_authorization_requests": False,
        # RFC 9449 §5.1
        "dpop_signing_alg_values_supported": dpop.ALGORITHMS,
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
        "ui_locales_supported": list(LANGUAGES),
        "claims_parameter_supported": False,
        # RFC 9101 request objects, for clients that registered keys (others get
        # request_not_supported); request_uri only as PAR's urn (RFC 9126).
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": request_objects.ALGORITHMS,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
    }


@router.get("/oauth2/jwks", dependencies=DOCUMENT_LIMIT)
def jwks(db: Session = Depends(get_db, scope="function")) -> JSONResponse:
    return JSONResponse(keys.published_jwks(db), headers={"Cache-Control": keys.CACHE_CONTROL})


def _csrf(session_token: str) -> str:
    return service.holder_csrf_token(session_token)


def _issuer() -> str:
    return get_settings().issuer.rstrip("/")


def _with_iss(location: str) -> str:
    """RFC 9207 §2: `iss` in every authorization response, success or error."""
    return str(add_params_to_uri(location, [("iss", _issuer())]))


def _authlib_response(result: tuple[int, Any, list[tuple[str, str]]], language: str) -> Response:
    status, body, headers = result
    header_map = dict(headers)
    if "Location" in header_map:
        return RedirectResponse(_with_iss(header_map["Location"]), status_code=302)
    if isinstance(body, dict) and status >= 400:
        page = pages.error_page(
            language=language,
            error=str(body.get("error")),
            description=body.get("error_description"),
        )
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})
    return JSONResponse(body, status_code=status, headers=header_map)


def _error(error: OAuth2Error, language: str) -> Response:
    return _authlib_response(error(), language)


def _redirect_error(
    redirect_uri: str, state: str | None, error: str, description: str, language: str
) -> Response:
    """An error sent back to the relying party's (already checked) redirect URI."""
    refusal = OAuth2Error(description, redirect_uri=redirect_uri)
    refusal.error = error
    refusal.state = state
    return _error(refusal, language)


def _holder(db: Session, token: str | None) -> tuple[Any, Any] | None:
    if not token:
        return None
    try:
        return service.session_for_token(db, token)
    except EidError:
        return None


def _ui_locales(value: str | None) -> str | None:
    """OpenID's `ui_locales` is space-separated, best first: as an Accept-Language list."""
    return ",".join(value.split()) if value else None


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _relying_party_policy(redirect_uri: str | None) -> str:
    """A form of these pages ends, after our redirects, at the relying party's redirect URI, and
    Chromium checks `form-action` against every hop: so that one origin, already checked against
    the client's registered URIs, is added to `'self'`."""
    return csp(form_action=[_origin(redirect_uri)] if redirect_uri else [])


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _needs_login(data: Mapping[str, str], row: Any) -> bool:
    """OpenID Connect Core §3.1.2.1: `prompt=login` asks for a new authentication, `max_age`
    for one no older than that many seconds; a session made after the forced login counts."""
    auth_time = int(row.created_at.timestamp())
    login_after = _int(data.get(LOGIN_AFTER))
    if login_after is not None and auth_time >= login_after:
        return False
    if "login" in data.get("prompt", "").split():
        return True
    max_age = _int(data.get("max_age"))
    # Measured exactly, not in whole seconds: max_age=0 must always mean a new login.
    elapsed = (clock.now() - row.created_at).total_seconds()
    return max_age is not None and elapsed > max_age


def _acr_met(requested: str | None, acr: str) -> bool:
    """`acr_values` (§3.1.2.1), best first: met when the session's class is at least one of
    the requested classes we know; values we do not know are ignored."""
    known = [ACR_RANK[value] for value in (requested or "").split() if value in ACR_RANK]
    return not known or ACR_RANK.get(acr, 0) >= min(known)


def _hint_matches(db: Session, hint: str | None, client: Any, account_id: Any) -> bool:
    """`id_token_hint` (§3.1.2.1): an ID token we issued to this client, expired or not; it
    must name the signed-in holder."""
    if not hint:
        return True
    try:
        published: Any = keys.published_jwks(db)
        token = jwt.decode(hint, KeySet.import_key_set(published), [keys.ALG])
    except (JoseError, ValueError):
        return False
    claims = token.claims
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    return (
        claims.get("iss") == get_settings().issuer
        and client.get_client_id() in audiences
        and claims.get("sub") == clients.pairwise_subject(client.row, account_id)
    )


def _carried(oreq: StarletteOAuth2Request) -> dict[str, str]:
    """What the login redirect and the consent form carry back to this endpoint: a pushed
    request only by its request_uri and interaction ticket (never its parameters), others
    their parameters."""
    data = oreq.payload.data
    if oreq.carried is not None:
        login_after = {LOGIN_AFTER: data[LOGIN_AFTER]} if LOGIN_AFTER in data else {}
        return {**oreq.carried, **login_after}
    return {k: v for k, v in data.items() if k in AUTHORIZE_PARAMS}


# Our own fields on the way back from the login and consent pages: kept when a pushed request
# or request object replaces the rest.
OWN_FIELDS = (LOGIN_AFTER, "csrf", "decision")


def _respond(
    server: EidAuthorizationServer,
    oreq: StarletteOAuth2Request,
    user: Any,
    grant: Any,
    language: str,
) -> Response:
    """The authorization response (code or error) to the relying party: a pushed request is
    spent by it."""
    par.spend(oreq)
    return _authlib_response(
        server.create_authorization_response(oreq, grant_user=user, grant=grant), language
    )


def _asked_scopes(oreq: StarletteOAuth2Request) -> list[str]:
    """The scopes the holder is asked to grant: those requested, and a wallet's credential
    configurations asked for by `authorization_details` as their scopes (OpenID4VCI §5.1.1)."""
    scopes = (oreq.payload.scope or "").split()
    if oreq.credential_details:
        from eid.wallet.oid4vci import SCOPES

        scopes += [SCOPES[c] for c in oreq.credential_details if SCOPES[c] not in scopes]
    return scopes


def _login_redirect(oreq: StarletteOAuth2Request, *, force: bool) -> Response:
    params = _carried(oreq)
    if force:
        params[LOGIN_AFTER] = str(int(clock.now().timestamp()))
    next_url = "/oauth2/authorize?" + urlencode(params)
    return RedirectResponse("/oauth2/login?" + urlencode({"next": next_url}), status_code=303)


def _authorize(
    db: Session,
    oreq: StarletteOAuth2Request,
    cookie: str | None,
    decision: str | None,
    request: Request,
) -> Response:
    server = EidAuthorizationServer(db)
    language = holder_language(request, _ui_locales(oreq.payload.data.get("ui_locales")))
    try:
        par.resolve(db, oreq, OWN_FIELDS)
        request_objects.resolve(db, oreq, OWN_FIELDS)
        grant = server.get_consent_grant(oreq, end_user=None)
    except OAuth2Error as error:
        return _error(error, language)
    data = oreq.payload.data
    redirect_uri = grant.redirect_uri
    state = oreq.payload.state
    prompts = data.get("prompt", "").split()
    if "none" in prompts and len(prompts) > 1:
        return _redirect_error(
            redirect_uri, state, "invalid_request", "prompt=none with other values", language
        )
    holder = _holder(db, cookie)
    client = oreq.client
    if decision is None:
        needs_login = holder is None or _needs_login(data, holder[0])
        if "none" in prompts and (
            holder is None
            or needs_login
            or not _hint_matches(db, data.get("id_token_hint"), client, holder[1].id)
        ):
            return _redirect_error(
                redirect_uri, state, "login_required", "the holder is not signed in", language
            )
        if needs_login:
            return _login_redirect(oreq, force=holder is not None)
    if holder is None:
        return _login_redirect(oreq, force=False)
    row, account = holder
    # Signed in, the holder's own language (chosen at enrolment) outranks the relying party's
    # hint and the browser's; a language picked on the page still outranks it.
    language = holder_language(request, account.language, _ui_locales(data.get("ui_locales")))
    if not _acr_met(data.get("acr_values"), row.acr):
        # The OpenID error registered for this case ("OpenID Connect Core Error Code
        # unmet_authentication_requirements 1.0"): no step-up to Level 2 exists online.
        return _redirect_error(
            redirect_uri,
            state,
            "unmet_authentication_requirements",
            "the account cannot reach the requested authentication level",
            language,
        )
    offer = oreq.credential_offer
    if offer is not None and offer.account_id != account.id:
        # OpenID4VCI §5.1.3: the offer's issuer_state binds the request to its holder.
        return _redirect_error(
            redirect_uri,
            state,
            "access_denied",
            "the credential offer was made to another holder",
            language,
        )
    scopes = _asked_scopes(oreq)
    if decision is None:
        if not account.usable:
            return _respond(server, oreq, None, grant, language)
        earlier = consents.active_consent(db, account.id, client.get_client_id())
        consented = earlier is not None and set(scopes) <= set(earlier.scopes)
        if "none" in prompts and not consented:
            return _redirect_error(
                redirect_uri,
                state,
                "consent_required",
                "the holder has not consented",
                language,
            )
        # OpenID Connect Core §3.1.2.4: the holder already consented to this client and these
        # scopes, so the page is not shown again, unless the relying party asks for it
        # (`prompt=consent`).
        if consented and "consent" not in prompts:
            oreq.holder_session = row
            return _respond(server, oreq, principal(db, client, account.id), grant, language)
        hidden = _carried(oreq)
        page = pages.consent_page(
            language=language,
            client_name=client.row.name,
            purpose=client.row.purpose,
            claims=["sub", *claims_for_scopes(scopes)],
            hidden={**hidden, "csrf": _csrf(cookie or "")},
            languages=language_links("/oauth2/authorize", hidden),
        )
        return page_response(request, page, policy=_relying_party_policy(redirect_uri))
    if not hmac.compare_digest(data.get("csrf", ""), _csrf(cookie or "")):
        return HTMLResponse(
            pages.error_page(language=language, error="csrf", description=None),
            status_code=403,
            headers={"Cache-Control": "no-store"},
        )
    user = principal(db, client, account.id) if decision == "allow" else None
    if user is not None:
        consents.give_consent(db, account.id, client.row, scopes)
    oreq.holder_session = row
    return _respond(server, oreq, user, grant, language)


@router.get("/oauth2/authorize", response_class=HTMLResponse, dependencies=[OIDC_LIMIT])
async def authorize(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    oreq = await oauth_request(request)
    return await run_in_threadpool(_authorize, db, oreq, request.cookies.get(COOKIE), None, request)


@router.post("/oauth2/authorize", response_class=HTMLResponse, dependencies=[OIDC_LIMIT])
async def authorize_decision(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    """The consent form (it carries its own `csrf` field), or an authorization request sent
    form-encoded (OpenID Connect Core §3.1.2.1: the endpoint takes GET and POST)."""
    form = await request.form()
    if "csrf" not in form:
        oreq = await oauth_request(request)
        return await run_in_threadpool(
            _authorize, db, oreq, request.cookies.get(COOKIE), None, request
        )
    oreq = await oauth_request(request, form_fields_only=True)
    decision = "allow" if oreq.payload.data.get("decision") == "allow" else "deny"
    return await run_in_threadpool(
        _authorize, db, oreq, request.cookies.get(COOKIE), decision, request
    )


def _safe_next(next_url: str) -> str:
    # Only back into our own authorize step: never an open redirect.
    return next_url if next_url.startswith("/oauth2/authorize?") else "/"


def _login_page(
    db: Session,
    request: Request,
    next_url: str,
    *,
    status_code: int = 200,
    error: EidError | None = None,
    method: str = "password",
) -> Response:
    """The login page in the holder's language; its form may end (after the authorize step) at
    the relying party's redirect URI, if that URI is one the client registered."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(next_url).query).items()}
    # A pushed request travels by reference: its own parameters are read from PAR's store.
    query = {**par.pushed_params(db, query.get("client_id"), query.get("request_uri")), **query}
    client = clients.get_client(db, query.get("client_id", ""))
    redirect_uri = query.get("redirect_uri")
    if client is None or redirect_uri not in client.redirect_uris:
        redirect_uri = None
    language = holder_language(request, _ui_locales(query.get("ui_locales")))
    page = pages.login_page(
        language=language,
        next_url=next_url,
        languages=language_links("/oauth2/login", {"next": next_url}),
        error_code=error.code if error else None,
        error_message=error.message_in(language) if error else None,
        method=method,
        # OpenID Connect Core §3.1.2.1: the relying party's hint of who signs in.
        login_hint=query.get("login_hint", "")[:64],
    )
    response = page_response(
        request, page, status_code=status_code, policy=_relying_party_policy(redirect_uri)
    )
    if isinstance(error, throttle.TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _page_limit(policy: throttle.Policy, *, key_field: str | None) -> Any:
    """`throttle.limit` for a page: over the limit, the page itself answers 429 in the holder's
    language (the refusal is kept in `request.state`), not the API's JSON."""
    enforce = throttle.limit(policy, key_field=key_field)

    async def dependency(request: Request) -> None:
        try:
            await enforce(request)
        except throttle.TooManyRequests as refused:
            request.state.throttled = refused

    dependency.throttle_policy = policy  # type: ignore[attr-defined]  # the route test's mark
    return dependency


@router.get("/oauth2/login", response_class=HTMLResponse)
def login_form(
    request: Request, next: str = "/", db: Session = Depends(get_db, scope="function")
) -> Response:
    return _login_page(db, request, _safe_next(next))


def _passkey_answer(fields: Mapping[str, str]) -> service.PasskeyAnswer:
    try:
        credential = json.loads(fields.get("credential", ""))
        ceremony_id = uuid.UUID(fields.get("ceremony_id", ""))
    except ValueError:
        raise service.login_failed() from None
    if not isinstance(credential, dict):
        raise service.login_failed()
    return service.PasskeyAnswer(ceremony_id=ceremony_id, credential=credential)


@router.post(
    "/oauth2/login",
    response_class=HTMLResponse,
    dependencies=[Depends(_page_limit(throttle.HOLDER_LOGIN, key_field="eid_number"))],
    responses={429: {"description": "too many attempts: the page, in the holder's language"}},
)
async def login_submit(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    """The password + passcode form, or the passkey form (`method=passkey`: the answer to a
    login ceremony), both ending in the session cookie and back in the authorization step."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    next_url = _safe_next(fields.get("next", "/"))
    method = "passkey" if fields.get("method") == "passkey" else "password"
    throttled = getattr(request.state, "throttled", None)

    def run() -> Response:
        if throttled is not None:
            return _login_page(db, request, next_url, status_code=429, error=throttled)
        try:
            with refusal_savepoint(db):
                if method == "passkey":
                    issued = service.login_with_passkey(db, _passkey_answer(fields))
                else:
                    issued = service.login_with_passcode(
                        db,
                        eid_number=fields.get("eid_number", "").strip(),
                        password=fields.get("password", ""),
                        passcode=fields.get("passcode", ""),
                    )
        except EidError as error:
            return _login_page(
                db, request, next_url, status_code=error.status, error=error, method=method
            )
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


@router.post("/oauth2/token", dependencies=[Depends(throttle.limit_in_handler(throttle.OIDC))])
async def token(request: Request) -> Response:
    """One thread hop: the throttle and the grant run together in the worker."""
    oreq = await oauth_request(request)
    return await run_in_threadpool(_token, oreq, throttle.client_ip(request), _endpoint(request))


def _token(oreq: StarletteOAuth2Request, ip: str, endpoint: str) -> Response:
    # One connection in autocommit for the throttle's count and the hot path (token_grants): the
    # hot path's one statement is its own transaction, committed before the answer is sent.
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        throttle.hit(throttle.OIDC, ip, conn=conn)
        if not oreq.payload.data.get("grant_type"):
            # RFC 6749 §5.2: a missing parameter is `invalid_request`, not an unsupported grant.
            return JSONResponse(
                {"error": "invalid_request", "error_description": "missing 'grant_type'"},
                status_code=400,
                headers={"Cache-Control": "no-store"},
            )
        single = not oreq.args and all(len(v) == 1 for v in oreq.payload.datalist.values())
        if single:
            with Session(bind=conn) as hot:
                fast = token_grants.fast_token(hot, oreq.headers, oreq.form)
            if fast is not None:
                return JSONResponse(fast, headers=token_grants.TOKEN_HEADERS)
    # Whatever the hot path does not answer with tokens (it then wrote nothing), the full grant
    # decides, in the request's one transaction as every endpoint has it (`get_db`).
    with unit_of_work() as db:
        proofs = dpop.proofs_of(oreq.headers)
        if proofs:  # RFC 9449 §5: bind the tokens to the proof's key
            try:
                oreq.dpop_jkt = dpop.verify_proof(db, proofs, "POST", endpoint)
            except dpop.InvalidDPoPProof as refused:
                status, body, headers = _json_error(refused)
                return JSONResponse(body, status_code=status, headers=dict(headers))
        server = EidAuthorizationServer(db)
        status, body, headers = server.create_token_response(oreq)
    return JSONResponse(body, status_code=status, headers=dict(headers))


def _endpoint(request: Request) -> str:
    """The request's URL as the client addressed it (EID_ISSUER), without the query."""
    return public_url(request).split("?", 1)[0]


def _json_error(error: OAuth2Error) -> tuple[int, Any, list[tuple[str, str]]]:
    body = {"error": error.error, "error_description": error.description}
    return int(error.status_code), body, [("Cache-Control", "no-store")]


@router.post("/oauth2/par", status_code=201, dependencies=[OIDC_LIMIT])
async def pushed_authorization_request(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    """RFC 9126: the client pushes its authorization request (form body), authenticated as at
    the token endpoint; 201 with a request_uri for the authorization endpoint."""
    oreq = await oauth_request(request, form_fields_only=True)
    proofs = dpop.proofs_of(request.headers)

    def run() -> tuple[int, dict[str, Any], dict[str, str]]:
        return par.push(EidAuthorizationServer(db), oreq, proofs)

    status, body, headers = await run_in_threadpool(run)
    return JSONResponse(body, status_code=status, headers=headers)


@router.post("/oauth2/revoke", dependencies=[OIDC_LIMIT])
async def revoke(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    oreq = await oauth_request(request)
    server = EidAuthorizationServer(db)
    status, body, headers = await run_in_threadpool(
        server.create_endpoint_response, "revocation", oreq
    )
    return JSONResponse(body, status_code=status, headers=dict(headers))


@router.post("/oauth2/introspect", dependencies=[OIDC_LIMIT])
async def introspect(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    oreq = await oauth_request(request)
    server = EidAuthorizationServer(db)
    status, body, headers = await run_in_threadpool(
        server.create_endpoint_response, "introspection", oreq
    )
    return JSONResponse(body, status_code=status, headers=dict(headers))


@router.get("/oauth2/userinfo", operation_id="userinfo_get", dependencies=[OIDC_LIMIT])
@router.post("/oauth2/userinfo", operation_id="userinfo_post", dependencies=[OIDC_LIMIT])
async def userinfo(request: Request, db: Session = Depends(get_db, scope="function")) -> Response:
    authorization = request.headers.get("authorization", "")
    if not authorization and request.method == "POST":
        # RFC 6750 §2.2: the token may come as a form field (oic sends it so).
        form = await request.form()
        token = form.get("access_token")
        if isinstance(token, str):
            authorization = f"Bearer {token}"
    proofs = dpop.proofs_of(request.headers)
    return await run_in_threadpool(
        userinfo_response, db, authorization, proofs, request.method, _endpoint(request)
    )
