"""Health for operators and orchestrators: `/healthz` (the process answers) and `/readyz` (it
can do its work: database reachable, schema at the migrations' head, a worker alive); and a
database that went away answers 503 for the time being, not 500."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from alembic.script import ScriptDirectory
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from eid.core.database import session_factory
from eid.core.errors import EidError
from eid.core.heartbeat import live_worker_count
from eid.core.schema import alembic_config
from eid.core.web import caller_language

log = logging.getLogger(__name__)
router = APIRouter(tags=["ops"])
RETRY_AFTER_SECONDS = "5"


@lru_cache(maxsize=1)
def schema_heads() -> frozenset[str]:
    """The revisions this code expects the database at (read once: they ship with the code)."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    return frozenset(script.get_heads())


def _failure(exc: SQLAlchemyError) -> str:
    """Class names only: a driver's message may quote the connection string."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    return f"failed: {type(cause).__name__}"


def readiness() -> dict[str, str]:
    """Each check's outcome: "ok", or why not."""
    checks = {"database": "ok", "schema": "ok", "worker": "ok"}
    with session_factory()() as session:
        try:
            # A probe must answer promptly, even when the database is slow.
            session.execute(text("SET LOCAL statement_timeout = '2s'"))
            session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return {"database": _failure(exc), "schema": "unknown", "worker": "unknown"}
        try:
            with session.begin_nested():
                current = frozenset(
                    session.execute(text("SELECT version_num FROM alembic_version")).scalars()
                )
            if current != schema_heads():
                checks["schema"] = (
                    f"failed: at {sorted(current)}, expected {sorted(schema_heads())}"
                )
        except SQLAlchemyError as exc:
            checks["schema"] = _failure(exc)
        try:
            if live_worker_count(session) == 0:
                checks["worker"] = "failed: no worker has beaten within its lease"
        except SQLAlchemyError as exc:
            checks["worker"] = _failure(exc)
        session.rollback()
    return checks


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive: answers without touching the database."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "not ready: `details.checks` says which check failed"}},
)
def readyz(request: Request) -> Any:
    checks = readiness()
    failed = sorted(name for name, outcome in checks.items() if outcome.startswith("failed"))
    if not failed:
        return {"status": "ready", "checks": checks}  # "unknown" only ever follows a failure
    body = EidError(
        "not ready: %(failed)s",
        code="NOT_READY",
        details={"failed": failed, "checks": checks},
        params={"failed": ", ".join(failed)},
    ).to_dict(caller_language(request))
    return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS})


def install_health(app: FastAPI) -> None:
    app.include_router(router)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # The connection was lost or refused (a restart, a failover): the pool reconnects on
        # the next checkout (pre-ping), so the client is told to come back, not that we broke.
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        body = EidError(
            "the database is unavailable; try again shortly", code="DATABASE_UNAVAILABLE"
        ).to_dict(caller_language(request))
        return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS})
