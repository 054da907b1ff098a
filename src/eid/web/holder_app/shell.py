"""The app's shell: the start page, the web manifest, the service worker and the offline page.

The service worker (`/app/sw.js`, scope `/app`) keeps only what holds nothing personal: the
static assets and the offline page in each language. Pages go to the network every time (they
are `no-store` and may show who is signed in); `/api/` requests pass it untouched, never cached.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from eid.core.web import get_db
from eid.i18n import N_, SUPPORTED, gettext
from eid.web.holder_app.pages import app_page, page_language, signed_in
from eid.web.templating import STATIC, holder_language, static_url

router = APIRouter(prefix="/app", include_in_schema=False)

THEME_COLOUR = "#7a0e0e"
ICONS = (
    ("icons/app-192.png", "192x192", "any"),
    ("icons/app-512.png", "512x512", "any"),
    ("icons/app-maskable-192.png", "192x192", "maskable"),
    ("icons/app-maskable-512.png", "512x512", "maskable"),
)
# What the service worker keeps from its installation on: nothing personal, all versioned.
SHELL_ASSETS = ("app.css", "app.js", *(path for path, _, _ in ICONS))
APP_NAME = N_("eID for foreign residents of Viet Nam")
APP_DESCRIPTION = N_(
    "Register, activate and use your electronic identification in Viet Nam: your card, "
    "your applications, who used your data."
)


@router.get("", response_class=HTMLResponse)
def start(request: Request, db: Session = Depends(get_db, scope="function")) -> HTMLResponse:
    """What eid is and the three ways in; a signed-in holder also sees the way to their home."""
    holder = signed_in(request, db)
    return app_page(request, "app/start.html", holder=holder)


@router.get("/offline/{lang}", response_class=HTMLResponse)
def offline(request: Request, lang: str) -> HTMLResponse:
    """Shown by the service worker when a page cannot be fetched. The language is in the path
    (not `?lang=`), so the worker can keep all five without changing the holder's pick."""
    chosen = lang if lang in SUPPORTED else page_language(request)
    return app_page(request, "app/offline.html", lang=chosen, with_languages=False)


@router.get("/manifest.webmanifest")
def manifest(request: Request) -> JSONResponse:
    lang = holder_language(request)
    body: dict[str, Any] = {
        "name": gettext(lang, APP_NAME),
        "short_name": "eID",
        "description": gettext(lang, APP_DESCRIPTION),
        "lang": lang,
        "dir": "ltr",
        "id": "/app",
        "start_url": "/app",
        "scope": "/app",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": "#ffffff",
        "icons": [
            {"src": static_url(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for path, sizes, purpose in ICONS
        ],
        # A presentation request's link (openid4vp://, from a QR the phone's camera read) shared
        # to the installed app opens its present page; a browser lets a web app register no
        # openid4vp: handler (only web+ schemes and a fixed list), so sharing is the way in.
        "share_target": {"action": "/app/present", "method": "GET", "params": {"text": "request"}},
    }
    return JSONResponse(
        body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"}
    )


@functools.cache
def service_worker_source() -> str:
    """The worker's script with what it precaches; its version changes with any of them, so a
    changed asset installs a new worker (and drops the old cache)."""
    shell = {
        "assets": [static_url(path) for path in SHELL_ASSETS],
        "offline": {lang: f"/app/offline/{lang}" for lang in SUPPORTED},
    }
    source = (STATIC / "app-sw.js").read_text(encoding="utf-8")
    version = hashlib.sha256((json.dumps(shell) + source).encode()).hexdigest()[:12]
    shell["version"] = version
    return f"const SHELL = {json.dumps(shell)};\n{source}"


@router.get("/sw.js")
def service_worker() -> Response:
    # Scope `/app` (the start page itself) is above the script's folder `/app/`: allowed here.
    return Response(
        service_worker_source(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/app"},
    )
