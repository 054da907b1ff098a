"""Operations: one JSON log line per event with a request id, and Prometheus metrics.

Nothing personal is logged: a request's line names its route *template* (never the raw path or
query string), method, status and duration; bodies are never read here.

With several server processes (`eid serve --workers N`, `eid.serving`) the HTTP series use
prometheus-client's multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` names a private directory the
supervisor made for the run, each process writes its counters, histograms and gauges into its own
files there, and whichever process answers a scrape sums them all (`MultiProcessCollector`).
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
import os
import re
import secrets
import time
import traceback
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eid.core.backpressure import Admission
from eid.core.database import session_factory, worker_pool
from eid.core.errors import Unauthorized
from eid.core.settings import Settings

log = logging.getLogger("eid.http")
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# prometheus-client reads it when first imported to choose where values live (memory or files).
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def shared_metrics_dir() -> str | None:
    """The directory the server processes share their series through, if they do."""
    return os.environ.get(MULTIPROC_DIR_ENV) or None


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra={"fields": {...}}` adds structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
            line["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_json_logging(level: int = logging.INFO) -> None:
    """The root logger writes JSON lines; uvicorn's loggers go through it (its access log is
    off: it prints the raw path and query string, which can carry personal data)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.captureWarnings(True)  # Python warnings as JSON lines too, not raw stderr text
    # httpx logs every outgoing URL at INFO; keep only its warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def route_template(scope: Scope) -> str:
    """The matched route's path template, so labels stay few (never the raw path)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "unmatched"


_IN_FLIGHT = ("eid_http_requests_in_flight", "Requests being answered")
_WAITING = ("eid_http_requests_waiting", "Requests waiting for a slot")
_SHED = ("eid_http_requests_shed", "Requests answered 503 OVERLOADED instead of waiting longer")


class HttpMetrics:
    """`registry=None`: multiprocess mode, where the values go to this process's files and the
    scrape's `MultiProcessCollector` reads them (registering them too would export them twice)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.latency = Histogram(
            "eid_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and status class",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )


class RequestTelemetry:
    """Outermost of ours: request id in and out, one log line and one observation per request."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for key, value in scope.get("headers", []):
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _WELL_FORMED_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            route = route_template(scope)
            method = scope.get("method", "")
            self.metrics.latency.labels(method, route, f"{status // 100}xx").observe(duration)
            log.log(
                logging.ERROR if status >= 500 else logging.INFO,
                "request",
                extra={
                    "fields": {
                        "event": "request",
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(duration * 1000, 1),
                    }
                },
            )
            request_id_var.reset(token)


class EdgeCollector(Collector):
    """In-flight, waiting and shed requests of this process."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(*_IN_FLIGHT, value=self.admission.in_flight)
        yield GaugeMetricFamily(*_WAITING, value=self.admission.waiting)
        yield CounterMetricFamily(*_SHED, value=self.admission.shed)


class SharedEdgeMetrics:
    """The same three series with several processes: a custom collector would only report the
    process that answers the scrape, so the admission's counts are copied into this process's
    files at every change. The gauges are summed over live processes (`livesum`: a dead process's
    file is removed by `forget_process`); the counter over every process that ever ran, so a
    restarted process loses nothing."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.in_flight = Gauge(*_IN_FLIGHT, multiprocess_mode="livesum", registry=None)
        self.waiting = Gauge(*_WAITING, multiprocess_mode="livesum", registry=None)
        self.shed = Counter(*_SHED, registry=None)
        self._shed_counted = admission.shed
        admission.on_change = self.copy

    def copy(self) -> None:
        self.in_flight.set(self.admission.in_flight)
        self.waiting.set(self.admission.waiting)
        if self.admission.shed > self._shed_counted:
            self.shed.inc(self.admission.shed - self._shed_counted)
            self._shed_counted = self.admission.shed


def forget_process(pid: int, directory: str) -> None:
    """A server process ended: its live gauges leave the sums (its counters stay counted)."""
    mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]  # untyped upstream


# Cheap at scrape time: the indexed status column, a few thousand rows per day of campaign.
_QUEUE = text(
    "SELECT status, count(*), "
    "EXTRACT(EPOCH FROM now() - min(run_at) FILTER (WHERE status = 'queued' AND run_at <= now())) "
    "FROM jobs GROUP BY status"
)
_DELIVERIES = text("SELECT channel, status, count(*) FROM notifications GROUP BY channel, status")
_CHECKS = text("SELECT name, outcome, count(*) FROM application_checks GROUP BY name, outcome")
_APPLICATIONS = text("SELECT status, count(*) FROM applications GROUP BY status")


class DatabaseCollector(Collector):
    """Job queue depth and oldest age, deliveries, verification outcomes: read from PostgreSQL
    at scrape time, so every process reports the same truth (registered on the scrape's own
    registry only, never summed across processes); the worker's pool serves it, so a saturated
    API cannot hide its own queue."""

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("eid_metrics_database_up", "The scrape could read PostgreSQL")
        try:
            rows = self._read()
        except Exception as exc:  # the scrape still answers; the gauge says what is missing
            logging.getLogger(__name__).warning(
                "metrics: database unreadable: %s", type(exc).__name__, exc_info=True
            )
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily("eid_jobs", "Jobs by status", labels=["status"])
        oldest = GaugeMetricFamily(
            "eid_jobs_oldest_queued_age_seconds", "Age of the oldest job due and not yet taken"
        )
        oldest_age = 0.0
        for status, count, age in rows["queue"]:
            depth.add_metric([status], count)
            if age is not None:
                oldest_age = max(oldest_age, float(age))
        oldest.add_metric([], oldest_age)
        yield depth
        yield oldest
        deliveries = CounterMetricFamily(
            "eid_deliveries", "Messages by channel and outcome", labels=["channel", "outcome"]
        )
        for channel, status, count in rows["deliveries"]:
            deliveries.add_metric([channel, status], count)
        yield deliveries
        checks = CounterMetricFamily(
            "eid_verification_checks", "Verification checks by outcome", labels=["check", "outcome"]
        )
        for name, outcome, count in rows["checks"]:
            checks.add_metric([name, outcome], count)
        yield checks
        applications = GaugeMetricFamily(
            "eid_applications", "Applications by status", labels=["status"]
        )
        for status, count in rows["applications"]:
            applications.add_metric([status], count)
        yield applications

    def _read(self) -> dict[str, list[Any]]:
        with worker_pool(), session_factory()() as session, session.begin():
            session.execute(text("SET LOCAL statement_timeout = '2s'"))
            return {
                "queue": list(session.execute(_QUEUE).tuples()),
                "deliveries": list(session.execute(_DELIVERIES).tuples()),
                "checks": list(session.execute(_CHECKS).tuples()),
                "applications": list(session.execute(_APPLICATIONS).tuples()),
            }


def _from_loopback(request: Request) -> bool:
    """A direct local client; behind a proxy (forwarding headers) every client looks local."""
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install_metrics(app: FastAPI, registry: CollectorRegistry, settings: Settings) -> None:
    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not _may_scrape(request, settings):
            raise Unauthorized("the metrics token is required", code="METRICS_TOKEN_REQUIRED")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _may_scrape(request: Request, settings: Settings) -> bool:
    if _from_loopback(request):
        return True
    token = settings.metrics_token
    if not token:
        return settings.env != "production"
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.encode(), token.encode())


def metrics_registry(admission: Admission) -> tuple[CollectorRegistry, HttpMetrics]:
    """The registry `/metrics` serves and the HTTP metrics the middleware feeds."""
    registry = CollectorRegistry()
    shared = shared_metrics_dir()
    if shared is None:  # one process: its series live in its memory
        registry.register(EdgeCollector(admission))
        registry.register(DatabaseCollector())
        return registry, HttpMetrics(registry)
    # Several: every process's files, read afresh at each scrape, plus the database once.
    MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
    registry.register(DatabaseCollector())
    SharedEdgeMetrics(admission)
    return registry, HttpMetrics(None)
