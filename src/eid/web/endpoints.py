from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from eid.core import clock, throttle
from eid.core.audit import Actor
from eid.core.openapi_errors import declared
from eid.core.settings import get_settings
from eid.core.web import app_ports, caller_language, get_db
from eid.enrolment import counter
from eid.i18n.formatting import format_date
from eid.identity.dependencies import Holder, current_holder
from eid.registry.ports import HasRegistry
from eid.staff import service as staff
from eid.staff.dependencies import page_officer, require_roles, session_cookie
from eid.wallet import service as wallet
from eid.web import holder_api, profiles, service
from eid.web.holder_app import ROUTERS as HOLDER_APP_ROUTERS
from eid.web.security import csp, page_response
from eid.web.templating import (
    OFFICER_LANGUAGES,
    holder_language,
    language_links,
    officer_language,
    render,
)

router = APIRouter(tags=["campaign"])
# The holder app at /app (eid.web.holder_app): each of its modules' routers.
routers = list(HOLDER_APP_ROUTERS)


@router.get("/api/v1/campaign/stats")
def campaign_stats(
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor", "auditor", "admin")),
) -> dict[str, Any]:
    return service.campaign_stats(db, actor=actor)


@router.get("/api/v1/campaign/series")
def campaign_series(
    office: str | None = Query(default=None, max_length=32),
    first_day: dt.date | None = Query(default=None, alias="from"),
    last_day: dt.date | None = Query(default=None, alias="to"),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor", "auditor", "admin")),
) -> dict[str, Any]:
    """The dashboard's charts: counts per day (Viet Nam's days) and office, refusals by
    reason, deadline compliance and processing times. A supervisor sees their office only."""
    chosen = service.campaign_filter(actor, office=office, first_day=first_day, last_day=last_day)
    return service.campaign_series(db, chosen)


@router.get(
    "/api/v1/campaign/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def campaign_export(
    office: str | None = Query(default=None, max_length=32),
    first_day: dt.date | None = Query(default=None, alias="from"),
    last_day: dt.date | None = Query(default=None, alias="to"),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor", "auditor", "admin")),
) -> Response:
    """The per-day, per-office counts as CSV (counts only); each export is audited."""
    chosen = service.campaign_filter(actor, office=office, first_day=first_day, last_day=last_day)
    body = service.campaign_csv(db, chosen, actor=actor)
    name = f"eid-campaign-{chosen.office or 'national'}-{chosen.first_day}-{chosen.last_day}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _officer_page(
    request: Request, template: str, who: staff.SignedIn | None, *, policy: str | None = None
) -> HTMLResponse:
    """An officer page in the officer's language (vi or en), signed in if this browser holds a
    live session: then it carries the session's CSRF token for its scripts, never the session."""
    csrf = None
    if who is not None:
        token = request.cookies[session_cookie()]
        csrf = staff.csrf_token(token)
    html = render(
        template,
        lang=officer_language(request),
        officer=who,
        csrf_token=csrf,
        idle_timeout=get_settings().officer_idle_timeout_seconds,
        languages=language_links(request.url.path, request.query_params, OFFICER_LANGUAGES),
        current=request.url.path,
    )
    return page_response(request, html, policy=policy)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, who: staff.SignedIn | None = Depends(page_officer)) -> HTMLResponse:
    """The page holds no data: signed in, its script reads the stats API."""
    return _officer_page(request, "officer/dashboard.html", who)


@router.get("/locks", response_class=HTMLResponse, include_in_schema=False)
def agency_locks_page(
    request: Request, who: staff.SignedIn | None = Depends(page_officer)
) -> HTMLResponse:
    """Locks asked by other agencies: recorded by an officer, decided by a supervisor, lifted.
    The page holds no data: signed in, its script reads the agency-locks API."""
    return _officer_page(request, "officer/locks.html", who)


@router.get("/profiles", response_class=HTMLResponse, include_in_schema=False)
def profiles_page(
    request: Request, who: staff.SignedIn | None = Depends(page_officer)
) -> HTMLResponse:
    """The person's digital profile: nothing shows before the officer states why (the
    profiles API audits each search and opening with that reason)."""
    return _officer_page(request, "officer/profiles.html", who)


@router.post("/api/v1/profiles/search", tags=["profiles"])
def search_profiles(
    body: profiles.ProfileSearchIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor")),
    ports: HasRegistry = Depends(app_ports),
) -> list[profiles.ProfileCandidate]:
    """The people a passport, residence card, e-ID number or full name names (names and dates
    of birth only); audited with the stated purpose and note."""
    return profiles.search(db, body, actor=actor, registry=ports.registry(db))


@router.post("/api/v1/profiles/opening", tags=["profiles"], responses=declared(404))
def open_profile(
    body: profiles.ProfileOpenIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor")),
    ports: HasRegistry = Depends(app_ports),
    language: str = Depends(caller_language),
) -> profiles.Profile:
    """One person's registry record, documents, accounts, agency locks, applications and
    checks (their reasons in the caller's language); the opening is audited with the stated
    purpose and note. Never cached."""
    return profiles.open_profile(
        db, body, actor=actor, registry=ports.registry(db), language=language
    )


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
def officer_console(
    request: Request, who: staff.SignedIn | None = Depends(page_officer)
) -> HTMLResponse:
    """TK01 at the counter, on the officer API: the page holds no data and no secret."""
    return _officer_page(request, "officer/console.html", who)


@router.get("/reviews", response_class=HTMLResponse, include_in_schema=False)
def supervisor_reviews(
    request: Request, who: staff.SignedIn | None = Depends(page_officer)
) -> HTMLResponse:
    """Held applications beside the identity they may duplicate, portraits included, for a
    supervisor's decision: the page holds no data and no secret, it reads the reviews API."""
    # The portraits are fetched with the session (audited, no-store) and shown from blob: URLs,
    # so the API can answer why one is missing instead of a broken image.
    return _officer_page(request, "officer/reviews.html", who, policy=csp(img_src=["blob:"]))


def _applicant_page(request: Request, template: str, sheet: counter.ApplicantSheet) -> HTMLResponse:
    """A page the applicant reads at the counter (second screen or print), in the applicant's
    language; the officer's browser opens it with the officer's session."""
    deadline = sheet.application.legal_deadline
    html = render(
        template,
        lang=sheet.language,
        sheet=sheet,
        app=sheet.application,
        deadline=format_date(deadline, sheet.language) if deadline else None,
        today=format_date(clock.today_vn(), sheet.language),
    )
    return page_response(request, html)


@router.get(
    "/console/applications/{app_id}/consent", response_class=HTMLResponse, include_in_schema=False
)
def consent_sheet(
    app_id: uuid.UUID,
    request: Request,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("officer", "supervisor")),
) -> HTMLResponse:
    """The consent text the applicant reads before the officer records consent."""
    sheet = counter.applicant_sheet(db, app_id, actor=actor)
    return _applicant_page(request, "officer/consent.html", sheet)


@router.get(
    "/console/applications/{app_id}/receipt", response_class=HTMLResponse, include_in_schema=False
)
def receipt(
    app_id: uuid.UUID,
    request: Request,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("officer", "supervisor")),
) -> HTMLResponse:
    """The applicant's receipt: application number, what was captured, the legal deadline."""
    sheet = counter.applicant_sheet(db, app_id, actor=actor)
    return _applicant_page(request, "officer/receipt.html", sheet)


# --- the holder's API where it composes domains (eid.web.holder_api) ---


@router.get("/api/v1/me/applications", tags=["holder"])
def my_applications(
    who: Holder = Depends(current_holder), db: Session = Depends(get_db, scope="function")
) -> list[holder_api.HolderApplicationOut]:
    """The applications of the account's person, newest first: status and legal deadline."""
    return holder_api.my_applications(db, who)


@router.get(
    "/v/{token}",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(throttle.limit(throttle.VERIFIER))],
)
def card_check(
    request: Request, token: str, db: Session = Depends(get_db, scope="function")
) -> HTMLResponse:
    """The page the e-residence card's QR opens (`wallet.service.card_qr_svg`): the card's
    state now and the claims the holder chose, in the reader's language."""
    card = wallet.open_card_link(db, token[:64])
    lang = holder_language(request)
    html = render(
        "card_check.html",
        lang=lang,
        card=card,
        checked_at=card.checked_at.strftime("%Y-%m-%d %H:%M UTC") if card else None,
        languages=language_links(request.url.path, request.query_params),
    )
    return page_response(request, html, status_code=200 if card else 404)
