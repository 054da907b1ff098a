"""The HTTP edge under load and abuse, wired into the app in one call (see `create_app`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from eid.core.backpressure import admission_for, install_backpressure, with_thread_tokens
from eid.core.limits import InputLimits
from eid.core.observability import RequestTelemetry, install_metrics, metrics_registry
from eid.core.openapi_errors import install_error_responses
from eid.core.settings import Settings, get_settings


def edge_lifespan(lifespan: Any, settings: Settings | None = None) -> Any:
    """The app's lifespan, with AnyIO's thread pool sized to the admitted requests."""
    settings = settings or get_settings()
    return with_thread_tokens(lifespan, settings.max_requests_in_flight or settings.db_pool_size)


def install_edge(app: FastAPI, settings: Settings | None = None) -> None:
    """Call after every router is included. Middleware order, outermost first: telemetry (sees
    every answer, shed ones too), backpressure (admission, timeout), input limits (the route's
    body limit and credentials before the body)."""
    settings = settings or get_settings()
    admission = admission_for(settings)
    registry, http_metrics = metrics_registry(admission)
    install_metrics(app, registry, settings)
    install_error_responses(app)
    app.add_middleware(InputLimits, fastapi_app=app)
    install_backpressure(app, admission, settings)
    app.add_middleware(RequestTelemetry, metrics=http_metrics)
    app.state.admission = admission
