"""HTTP edge shared by every domain: the request's transaction and the error shape."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from eid.core.database import unit_of_work
from eid.core.errors import EidError

log = logging.getLogger(__name__)


def get_db() -> Iterator[Session]:
    """The request owns one transaction: committed when the handler returns, else rolled back.

    Depend on it with `Depends(get_db, scope="function")`: the code after `yield` then runs
    before the response is sent, so a client never sees a 2xx for work not yet committed (or
    never saved), and its next request sees what this one wrote.
    """
    with unit_of_work() as session:
        yield session


@contextmanager
def refusal_savepoint(session: Session) -> Iterator[None]:
    """For an endpoint that catches an `EidError` to render it itself (a login page), so the
    boundary never sees it: the boundary's rule on a savepoint. The work inside stays if it
    succeeds, or if its error keeps its writes (`keep_writes`: a failed attempt counted);
    otherwise it is undone, and the endpoint's answer commits the rest."""
    savepoint = session.begin_nested()
    try:
        yield
    except EidError as refused:
        if refused.keep_writes:
            savepoint.commit()
        else:
            savepoint.rollback()
        raise
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()


def commit_before_waiting(session: Session) -> None:
    """End the request's transaction early, for an endpoint that then waits on something else
    (verification's `wait`): the worker can see the work at once, and the wait holds no
    connection or lock. The boundary (`get_db`) then has nothing left to commit."""
    session.commit()


def app_ports(request: Request) -> Any:
    """The implementations of the ports, built once at start (`create_app(ports=...)`,
    `eid.wiring.Ports`). A domain depends on this with the protocol it needs as the type."""
    return request.app.state.ports


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EidError)
    async def _eid_error(_: Request, exc: EidError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"][1:]), "problem": err["msg"]}
            for err in exc.errors()
        ]
        body = EidError(
            "the request body is not valid", code="INVALID_REQUEST", details={"errors": problems}
        ).to_dict()
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "UNAUTHORIZED"}.get(
            exc.status_code, "HTTP_ERROR"
        )
        body = EidError(str(exc.detail), code=code).to_dict()
        return JSONResponse(body, status_code=exc.status_code)
