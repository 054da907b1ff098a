"""Pages for people: the officer console, reviews and campaign dashboard, and the machinery
every HTML page of eid shares (templates, static assets, security headers)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Security headers on every response and the static assets under `/static`."""
    from eid.web.security import install_security_headers
    from eid.web.static_assets import StaticAssets
    from eid.web.templating import STATIC

    install_security_headers(app)
    app.mount("/static", StaticAssets(directory=STATIC), name="static")
