"""Approval on the bound device over HTTP (`identity.approvals` holds the rules).

The browser of the login page: `POST /oauth2/approval` (an e-ID number; the `eid_approval`
cookie binds the request to this browser), the waiting page `GET /oauth2/approval/{id}` with the
matching number, `GET .../status` (its script asks every two seconds), and
`POST .../continue`: approved, on into the authorization with a new session; denied or expired,
back to the relying party with `error=access_denied` (RFC 6749 §4.1.2.1, `iss` per RFC 9207).

The holder's app (its session, cookie + CSRF or bearer): `GET /api/v1/identity/approvals`,
`POST .../{id}/options` (the passkey's request options) and `POST .../{id}/decision`.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eid.core import clock, throttle
from eid.core.errors import EidError, ValidationFailed
from eid.core.settings import get_settings
from eid.core.web import get_db, refusal_savepoint
from eid.identity import approvals, clients, pages, par
from eid.identity.dependencies import COOKIE, Holder, current_holder
from eid.identity.models import DeviceApproval
from eid.identity.oidc_endpoints import (
    _login_page,
    _page_limit,
    _relying_party_policy,
    _safe_next,
    _ui_locales,
    _with_iss,
)
from eid.identity.service import SESSION_TTL
from eid.web.security import page_response
from eid.web.templating import holder_language, language_links

router = APIRouter(tags=["openid-connect"])
app_api = APIRouter(prefix="/api/v1/identity/approvals", tags=["holder authentication"])
routers = [router, app_api]

BASE = "/oauth2/approval"
POLL_SECONDS = 2


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _language(request: Request, authorize_url: str) -> str:
    return holder_language(request, _ui_locales(_query(authorize_url).get("ui_locales")))


def _request_params(db: Session, authorize_url: str) -> dict[str, str]:
    """The authorization request's parameters; a pushed one (RFC 9126) travels by reference
    (client_id, request_uri): its parameters are read from PAR's store."""
    query = _query(authorize_url)
    return {**par.pushed_params(db, query.get("client_id"), query.get("request_uri")), **query}


def _redirect_uri(db: Session, authorize_url: str) -> tuple[str | None, str | None]:
    """The relying party's redirect URI of the request (only one it registered) and state."""
    query = _request_params(db, authorize_url)
    client = clients.get_client(db, query.get("client_id", ""))
    redirect_uri = query.get("redirect_uri")
    if client is None or redirect_uri not in client.redirect_uris:
        return None, None
    return redirect_uri, query.get("state")


def _same_origin(request: Request) -> bool:
    """The form came from our own page. Browsers name the sender's relation in
    `Sec-Fetch-Site`; `Origin` is "null" on our pages' POSTs (their `no-referrer` policy), so it
    counts only when it names another origin."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    issuer = urlsplit(get_settings().issuer)
    return origin in {
        f"{request.url.scheme}://{request.url.netloc}",
        f"{issuer.scheme}://{issuer.netloc}",
    }


def _secure() -> bool:
    return get_settings().issuer.startswith("https://")


def _not_found_page(request: Request, language: str) -> Response:
    page = pages.error_page(language=language, error="approval_not_found", description=None)
    return HTMLResponse(page, status_code=404, headers={"Cache-Control": "no-store"})


@router.post(
    BASE,
    response_class=HTMLResponse,
    dependencies=[Depends(_page_limit(approvals.START, key_field="eid_number"))],
    responses={429: {"description": "too many requests: the login page, in its language"}},
)
async def approval_start(
    request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    """The login page's "approve in the eID app": the same answer for every e-ID number."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    next_url = _safe_next(fields.get("next", "/"))
    throttled = getattr(request.state, "throttled", None)
    known_secret = request.cookies.get(approvals.BROWSER_COOKIE, "")

    def run() -> Response:
        if throttled is not None:
            return _login_page(
                db, request, next_url, status_code=429, error=throttled, method="approval"
            )
        if not _same_origin(request):
            # Another site's form would make this browser wait for its sender's approval
            # (login CSRF: the victim signed into the sender's account).
            page = pages.error_page(
                language=_language(request, next_url), error="csrf", description=None
            )
            return HTMLResponse(page, status_code=403, headers={"Cache-Control": "no-store"})
        query = _request_params(db, next_url)
        client = clients.get_client(db, query.get("client_id", ""))
        redirect_uri, _ = _redirect_uri(db, next_url)
        if client is None or redirect_uri is None:
            page = pages.error_page(
                language=_language(request, next_url), error="invalid_request", description=None
            )
            return HTMLResponse(page, status_code=400, headers={"Cache-Control": "no-store"})
        eid_number = fields.get("eid_number", "").strip()[:32]
        if not eid_number:
            missing = ValidationFailed("give your e-ID number", code="EID_NUMBER_REQUIRED")
            return _login_page(
                db, request, next_url, status_code=422, error=missing, method="approval"
            )
        scopes = [s for s in query.get("scope", "").split() if s in client.scopes]
        secret = known_secret if 30 <= len(known_secret) <= 64 else approvals.new_browser_secret()
        started = approvals.start(
            db,
            eid_number=eid_number,
            client=client,
            scopes=scopes,
            authorize_url=next_url,
            browser_secret=secret,
        )
        response = RedirectResponse(f"{BASE}/{started.approval_id}", status_code=303)
        response.set_cookie(
            approvals.BROWSER_COOKIE,
            secret,
            max_age=int(SESSION_TTL.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=_secure(),
            path=BASE,
        )
        return response

    return await run_in_threadpool(run)


def _waiting_page(
    request: Request, db: Session, row: DeviceApproval, *, notice: str | None = None
) -> Response:
    language = _language(request, row.authorize_url)
    client = clients.get_client(db, row.client_id)
    redirect_uri, _ = _redirect_uri(db, row.authorize_url)
    page = pages.approval_page(
        language=language,
        approval_id=str(row.id),
        matching_code=row.matching_code,
        client_name=client.name if client else "",
        status=row.status,
        notice=notice,
        login_url="/oauth2/login?" + _login_query(row.authorize_url),
        poll_seconds=POLL_SECONDS,
        languages=language_links(f"{BASE}/{row.id}", {}),
    )
    return page_response(request, page, policy=_relying_party_policy(redirect_uri))


def _login_query(authorize_url: str) -> str:
    return urlencode({"next": authorize_url})


@router.get(
    BASE + "/{approval_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(_page_limit(approvals.WAIT, key_field=None))],
)
def approval_wait(
    approval_id: uuid.UUID, request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    """The waiting page: the matching number, and a script that asks for the outcome."""
    throttled = getattr(request.state, "throttled", None)
    language = holder_language(request)
    if throttled is not None:
        page = pages.error_page(language=language, error="too_many_requests", description=None)
        return HTMLResponse(page, status_code=429, headers={"Retry-After": "60"})
    try:
        row = approvals.for_browser(db, approval_id, request.cookies.get(approvals.BROWSER_COOKIE))
    except approvals.ApprovalNotFound:
        return _not_found_page(request, language)
    return _waiting_page(request, db, row)


@router.get(
    BASE + "/{approval_id}/status",
    dependencies=[Depends(throttle.limit(approvals.WAIT))],
)
def approval_status(
    approval_id: uuid.UUID, request: Request, db: Session = Depends(get_db, scope="function")
) -> JSONResponse:
    """`{"status": "pending" | "approved" | "denied" | "expired"}` for the browser that asked."""
    row = approvals.for_browser(db, approval_id, request.cookies.get(approvals.BROWSER_COOKIE))
    return JSONResponse({"status": row.status}, headers={"Cache-Control": "no-store"})


@router.post(
    BASE + "/{approval_id}/continue",
    response_class=HTMLResponse,
    dependencies=[Depends(_page_limit(approvals.WAIT, key_field=None))],
)
def approval_continue(
    approval_id: uuid.UUID, request: Request, db: Session = Depends(get_db, scope="function")
) -> Response:
    """Approved: a session in this browser, on into the authorization (consent, the code).
    Denied or expired: `access_denied` at the relying party's redirect URI."""
    language = holder_language(request)
    if getattr(request.state, "throttled", None) is not None:
        page = pages.error_page(language=language, error="too_many_requests", description=None)
        return HTMLResponse(page, status_code=429, headers={"Retry-After": "60"})
    try:
        row = approvals.for_browser(db, approval_id, request.cookies.get(approvals.BROWSER_COOKIE))
    except approvals.ApprovalNotFound:
        return _not_found_page(request, language)
    if row.status == "pending":
        return _waiting_page(request, db, row, notice="pending")
    if row.status in ("denied", "expired"):
        redirect_uri, state = _redirect_uri(db, row.authorize_url)
        if redirect_uri is None:
            return _not_found_page(request, language)
        params = [("error", "access_denied")]
        params.append(
            (
                "error_description",
                "the holder refused the sign-in"
                if row.status == "denied"
                else "the sign-in was not approved in time",
            )
        )
        if state is not None:
            params.append(("state", state))
        return RedirectResponse(
            _with_iss(str(add_params_to_uri(redirect_uri, params))), status_code=303
        )
    try:
        with refusal_savepoint(db):
            issued = approvals.redeem(db, row)
    except approvals.ApprovalNotFound:
        return _not_found_page(request, language)
    except EidError as error:
        return _login_page(
            db, request, row.authorize_url, status_code=error.status, error=error, method="approval"
        )
    response = RedirectResponse(row.authorize_url, status_code=303)
    response.set_cookie(
        COOKIE,
        issued.token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(),
        path="/",
    )
    return response


# --- the holder's app ---


class PendingApprovalOut(BaseModel):
    id: uuid.UUID
    client_name: str
    purpose: str
    claims: list[str]
    choices: list[str]
    expires_in: int


class ApprovalOptionsOut(BaseModel):
    public_key: dict[str, Any]


class ApprovalDecisionBody(BaseModel):
    decision: Literal["approve", "deny"]
    matching_code: str | None = Field(default=None, max_length=4)
    credential: dict[str, Any] | None = None


class ApprovalDecisionOut(BaseModel):
    status: str


DECIDE_LIMIT = [Depends(throttle.limit(approvals.DECIDE))]


@app_api.get("", dependencies=DECIDE_LIMIT)
def pending_approvals(
    holder: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> list[PendingApprovalOut]:
    now = clock.now()
    return [
        PendingApprovalOut(
            id=item.id,
            client_name=item.client_name,
            purpose=item.purpose,
            claims=item.claims,
            choices=item.choices,
            expires_in=max(0, int((item.expires_at - now).total_seconds())),
        )
        for item in approvals.pending(db, holder.account.id)
    ]


@app_api.post("/{approval_id}/options", dependencies=DECIDE_LIMIT)
def approval_options(
    approval_id: uuid.UUID,
    holder: Holder = Depends(current_holder),
    db: Session = Depends(get_db, scope="function"),
) -> ApprovalOptionsOut:
    return ApprovalOptionsOut(
        public_key=approvals.approve_options(db, holder.account.id, approval_id)
    )


@app_api.post("/{approval_id}/decision", dependencies=DECIDE_LIMIT)
def approval_decision(
    approval_id: uuid.UUID,
    body: ApprovalDecisionBody,
    holder: Holder = Depends(current_holder),
    db: Session = Depends(get_db, scope="function"),
) -> ApprovalDecisionOut:
    if body.decision == "deny":
        return ApprovalDecisionOut(status=approvals.deny(db, holder.account.id, approval_id))
    if body.matching_code is None or body.credential is None:
        raise ValidationFailed(
            "approving needs the number and the passkey's answer", code="APPROVAL_INCOMPLETE"
        )
    status = approvals.approve(
        db,
        holder.account.id,
        approval_id,
        matching_code=body.matching_code,
        credential=body.credential,
    )
    return ApprovalDecisionOut(status=status)
