"""The holder app at `/app`: an installable web app for foreign residents (web manifest, service
worker, phone-first pages in vi, en, zh, ko, ja).

Each module holds its pages and exposes `router`, listed in `ROUTERS` (add a new module there);
this package's `router` includes them all. `eid.web.endpoints` hands the application `ROUTERS`
themselves, so the route checks (throttles, body limits) see each page's own route. Shared
machinery (the page response, the signed-in holder of a page) lives in `holder_app.pages`.
"""

from __future__ import annotations

from fastapi import APIRouter

from eid.web.holder_app import (
    account,
    approvals,
    card,
    lock,
    overview,
    records,
    registration,
    shell,
    wallet,
)

ROUTERS: tuple[APIRouter, ...] = (
    shell.router,
    account.router,
    registration.router,
    overview.router,
    card.router,
    records.router,
    lock.router,
    approvals.router,
    wallet.router,
)

router = APIRouter()
for _router in ROUTERS:
    router.include_router(_router)

__all__ = ["ROUTERS", "router"]
