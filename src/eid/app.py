"""The ASGI application: every domain's `endpoints.router`, one error shape, one OpenAPI."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

from fastapi import APIRouter, FastAPI

import eid
from eid.core.edge import edge_lifespan, install_edge
from eid.core.health import install_health
from eid.core.schema import import_domain_modules
from eid.core.settings import get_settings
from eid.core.web import install_error_handlers
from eid.web import install as install_pages
from eid.wiring import Ports, build_ports

log = logging.getLogger(__name__)


def domain_routers() -> list[APIRouter]:
    """Each domain package may expose `router` (and `routers`) in its endpoints module."""
    found: list[APIRouter] = []
    for module in sorted(pkgutil.iter_modules(eid.__path__), key=lambda m: m.name):
        if not module.ispkg or module.name == "core":
            continue
        try:
            endpoints = importlib.import_module(f"eid.{module.name}.endpoints")
        except ModuleNotFoundError as exc:
            if exc.name == f"eid.{module.name}.endpoints":
                continue
            raise
        found.extend(getattr(endpoints, "routers", []))
        if hasattr(endpoints, "router"):
            found.append(endpoints.router)
    return found


def import_all_tasks() -> None:
    """Job handlers register themselves on import of `<domain>/tasks.py`."""
    import_domain_modules("tasks")


def create_app(*, ports: Ports | None = None, lifespan: Any = None) -> FastAPI:
    """The app with the given ports' implementations (`eid.wiring`), else those the settings
    name. Endpoints reach them through `core.web.app_ports`."""
    settings = get_settings()
    development = settings.env != "production"
    app = FastAPI(
        title="eid",
        version=eid.__version__,
        description="Level-2 electronic identification for foreign residents of Viet Nam",
        lifespan=edge_lifespan(lifespan),
        docs_url="/docs" if development else None,
        redoc_url="/redoc" if development else None,
        openapi_url="/openapi.json" if development or settings.publish_openapi else None,
    )
    app.state.ports = ports or build_ports()
    install_error_handlers(app)
    install_pages(app)
    install_health(app)
    for router in domain_routers():
        app.include_router(router)
    install_edge(app)  # after every route: it guards each one and declares their errors
    return app
