"""HTTP edge shared by every domain: the request's transaction and the error shape.

Error messages are answered in the caller's language (eid.i18n.negotiate over Accept-Language;
officers' requests among vi and en only); the `code` is the same in every language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from eid.core.database import unit_of_work
from eid.core.errors import EidError
from eid.i18n import N_, OFFICER_LANGUAGES, SUPPORTED, Msgid, gettext, negotiate

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


# The dependencies that authenticate officers (registered by `staff`, which core cannot import).
_OFFICER_AUTHENTICATION: set[Callable[..., Any]] = set()


def officers_only(dependency: Callable[..., Any]) -> Callable[..., Any]:
    """Declares `dependency` as the officers' authentication: errors of a route that depends on
    it are worded in Vietnamese or English only, whatever the browser asks for."""
    _OFFICER_AUTHENTICATION.add(dependency)
    return dependency


def _needs_officer(dependant: Dependant) -> bool:
    return any(
        sub.call in _OFFICER_AUTHENTICATION or _needs_officer(sub) for sub in dependant.dependencies
    )


def caller_language(request: Request) -> str:
    """The language the caller reads, from Accept-Language (chain ending in English). The route
    tells the audience, so even a body that is not JSON, refused before any dependency runs, is
    answered to an officer in Vietnamese or English."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    officer = isinstance(dependant, Dependant) and _needs_officer(dependant)
    among = OFFICER_LANGUAGES if officer else SUPPORTED
    return negotiate(request.headers.get("accept-language"), among=among)


# Pydantic's error types, as the problems a person reads (the `type` itself stays in the answer
# for clients). Each msgid is in the `messages` catalogues; an unknown type gets the generic one.
_GENERIC_PROBLEM = N_("the value is not valid")
_PROBLEMS: dict[str, Msgid] = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("this field is not allowed here"),
    "string_too_short": N_("must have at least %(min_length)s characters"),
    "string_too_long": N_("must have at most %(max_length)s characters"),
    "too_short": N_("must have at least %(min_length)s items"),
    "too_long": N_("must have at most %(max_length)s items"),
    "string_pattern_mismatch": N_("does not have the expected format"),
    "string_type": N_("must be text"),
    "date_parsing": N_("must be a date in the form YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("must be a date in the form YYYY-MM-DD"),
    "date_from_datetime_inexact": N_("must be a date in the form YYYY-MM-DD"),
    "date_type": N_("must be a date in the form YYYY-MM-DD"),
    "datetime_parsing": N_("must be a date and time in ISO 8601 form"),
    "datetime_from_date_parsing": N_("must be a date and time in ISO 8601 form"),
    "datetime_type": N_("must be a date and time in ISO 8601 form"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "bool_parsing": N_("must be true or false"),
    "bool_type": N_("must be true or false"),
    "literal_error": N_("must be one of: %(expected)s"),
    "enum": N_("must be one of: %(expected)s"),
    "greater_than": N_("must be greater than %(gt)s"),
    "greater_than_equal": N_("must be at least %(ge)s"),
    "less_than": N_("must be less than %(lt)s"),
    "less_than_equal": N_("must be at most %(le)s"),
    "uuid_parsing": N_("must be a UUID"),
    "uuid_type": N_("must be a UUID"),
    "json_invalid": N_("the body is not valid JSON"),
    "model_type": N_("must be a JSON object"),
    "model_attributes_type": N_("must be a JSON object"),
    "dict_type": N_("must be a JSON object"),
    "list_type": N_("must be a list"),
    "value_error": _GENERIC_PROBLEM,
    "assertion_error": _GENERIC_PROBLEM,
}


def _field(loc: Sequence[int | str], error_type: str) -> str:
    """The field at fault as the client named it: `passport.number`, `guardian.phone`. The first
    element says where it was (body, query, path, header) and is dropped when more follow."""
    if error_type == "json_invalid" or len(loc) < 2:
        return str(loc[0]) if loc else "body"
    return ".".join(str(part) for part in loc[1:])


def _problem(error: Mapping[str, Any], language: str) -> str:
    msgid = _PROBLEMS.get(str(error.get("type")), _GENERIC_PROBLEM)
    context: dict[str, Any] = dict(error.get("ctx") or {})
    if "expected" in context:
        # Pydantic joins the choices with an English "or": keep only the list of values.
        context["expected"] = str(context["expected"]).replace(" or ", ", ")
    try:
        return gettext(language, msgid, **context) if context else gettext(language, msgid)
    except (KeyError, ValueError, TypeError):  # a context lacking what the text names
        return gettext(language, _GENERIC_PROBLEM)


def validation_error_body(errors: Sequence[Mapping[str, Any]], language: str) -> dict[str, Any]:
    problems = [
        {
            "field": _field(err["loc"], str(err.get("type"))),
            "type": str(err.get("type")),
            "problem": _problem(err, language),
        }
        for err in errors
    ]
    named = list(dict.fromkeys(p["field"] for p in problems))
    fields = ", ".join(named)
    # `field` (the first at fault) and `fields` let a form put each refusal beside its input.
    error = EidError(
        "the request is not valid; check: %(fields)s",
        code="INVALID_REQUEST",
        details={"field": named[0] if named else "body", "fields": named, "errors": problems},
        params={"fields": fields},
    )
    return error.to_dict(language)


# Starlette's own refusals (no route, wrong method) in words of the catalogue.
_HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    404: ("NOT_FOUND", N_("there is nothing at this address")),
    405: ("METHOD_NOT_ALLOWED", N_("this method is not allowed here")),
    401: ("UNAUTHORIZED", N_("authentication is required")),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EidError)
    async def _eid_error(request: Request, exc: EidError) -> JSONResponse:
        # A refusal that says when to come back (throttle, lockout) says it in the header too.
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return JSONResponse(
            exc.to_dict(caller_language(request)), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = validation_error_body(exc.errors(), caller_language(request))
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("HTTP_ERROR", str(exc.detail)))
        body = EidError(message, code=code).to_dict(caller_language(request))
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
