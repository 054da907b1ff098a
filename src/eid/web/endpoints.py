from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from eid.core.audit import Actor
from eid.core.web import get_db
from eid.staff.dependencies import require_roles
from eid.web import service

router = APIRouter(tags=["campaign"])
_TEMPLATES = Path(__file__).parent / "templates"


def _officer_page(name: str) -> str:
    """An officer page with the parts all of them share (style, header with sign-in, script)
    inlined at their markers: one file each, and the pages stay single documents."""
    page = (_TEMPLATES / name).read_text(encoding="utf-8")
    for marker, part in (
        ("/*officer.css*/", "officer.css"),
        ("<!--officer-header-->", "officer-header.html"),
        ("//officer.js", "officer.js"),
    ):
        assert page.count(marker) == 1, (name, marker)
        page = page.replace(marker, (_TEMPLATES / part).read_text(encoding="utf-8"))
    return page


_PAGE = (_TEMPLATES / "dashboard.html").read_text(encoding="utf-8")
_CONSOLE = _officer_page("console.html")
_REVIEWS = _officer_page("reviews.html")


@router.get("/api/v1/campaign/stats")
def campaign_stats(
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor", "auditor", "admin")),
) -> dict[str, Any]:
    return service.campaign_stats(db, actor=actor)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard() -> str:
    """The page holds no data: it asks for an officer token and reads the stats API."""
    return _PAGE


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
def officer_console() -> str:
    """TK01 at the counter, on the officer API: the page holds no data and no secret."""
    return _CONSOLE


@router.get("/reviews", response_class=HTMLResponse, include_in_schema=False)
def supervisor_reviews() -> str:
    """Held applications beside the identity they may duplicate, portraits included, for a
    supervisor's decision: the page holds no data and no secret, it reads the reviews API."""
    return _REVIEWS
