"""The app's Level-1 registration page (`/app/register`): the steps of
`eid.enrolment.registration` in the holder's language, driven by `static/register.js` on the
anonymous registration API. The page holds no personal data; the consent text is rendered here
in the page's language, as the API records it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from eid.enrolment import consent
from eid.web.holder_app.pages import app_page, page_language

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/register", response_class=HTMLResponse)
def register(request: Request) -> HTMLResponse:
    lang = page_language(request)
    shown = consent.language_for(lang)
    return app_page(
        request,
        "app/register.html",
        lang=lang,
        consent_version=consent.LEVEL1_VERSION,
        consent_language=shown,
        consent_text=consent.text_for(consent.LEVEL1_VERSION, shown) or "",
    )
