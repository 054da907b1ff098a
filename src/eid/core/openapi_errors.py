"""Every status the server can answer, declared in the OpenAPI with the one error shape.

Derived from what each route is: a route that authenticates can answer 401, one that checks
roles 403, one with path parameters 404, one that changes state 409, one that reads a body 413,
every one 422 (text in the query is checked everywhere) and 503 (shed under load). A body that
carries a credential (password, passcode, TOTP, OTP, activation code) can answer 401, 403 (account
locked) and 429; the OAuth/OIDC endpoints answer RFC 6749 errors (400, 401, 403) in their own
shape. A route declares anything else itself with `responses=`; what it declares wins.

Links for stateful testing: what a `POST` that answers 201 creates (`id` in its body) feeds the
path parameter of every operation under it (POST /applications -> /applications/{app_id}/...).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from eid.core.backpressure import UNMETERED_PATHS
from eid.core.limits import api_routes, credential_kind, dependency_calls, route_reads_body

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "stable: clients branch on it"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
REF = {"$ref": "#/components/schemas/Error"}
OAUTH_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 6749 section 5.2 error",
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
OAUTH_PREFIXES = ("/oauth2/",)
CREDENTIAL_FIELDS = frozenset({"password", "passcode", "totp", "otp", "activation_code"})
DESCRIPTIONS = {
    401: "no valid credential (INVALID_TOKEN, INVALID_SESSION, REGISTRATION_TOKEN_INVALID)",
    403: "the credential's role may not do this (ROLE_NOT_ALLOWED, ...)",
    404: "no such resource (NOT_FOUND, ...)",
    400: "an OAuth 2.0 / OpenID Connect error (RFC 6749)",
    409: "the resource's state does not allow it (ILLEGAL_TRANSITION, CONFLICT, ...)",
    413: "the body is larger than this route accepts (BODY_TOO_LARGE)",
    422: "invalid input (INVALID_REQUEST, INVALID_TEXT, VALIDATION_FAILED, ...)",
    429: "too many attempts; retry after Retry-After (TOO_MANY_REQUESTS)",
    503: "overloaded or timed out; retry after Retry-After (OVERLOADED, REQUEST_TIMEOUT)",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}


def declared(*statuses: int, oauth: bool = False) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the error statuses a route answers that its shape does not tell (a look-up
    by a query or body value answering 404, a client authenticated in the body answering 401),
    in the one error shape, or RFC 6749's when `oauth`."""
    schema = OAUTH_ERROR_SCHEMA if oauth else REF
    return {
        status: {
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"schema": schema}},
        }
        for status in statuses
    }


def _checks_roles(route: APIRoute) -> bool:
    return any(
        "require_roles" in getattr(call, "__qualname__", "")
        for call in dependency_calls(route.dependant)
    )


def _rate_limited(route: APIRoute) -> bool:
    """A route behind `core.throttle.limit` answers 429 when its caller goes over the limit."""
    return any(hasattr(call, "throttle_policy") for call in dependency_calls(route.dependant))


def _takes_credential_in_body(route: APIRoute) -> bool:
    model = route.body_field.field_info.annotation if route.body_field else None
    fields = getattr(model, "model_fields", {})
    return bool(CREDENTIAL_FIELDS & set(fields))


def _takes_token_header(route: APIRoute) -> bool:
    """A route that authorises with a token of its own in a header (`X-Registration-Token`)
    answers 401 when it is missing, wrong or expired."""
    stack: list[Dependant] = [route.dependant]
    while stack:
        dependant = stack.pop()
        if any(str(p.alias).lower().endswith("-token") for p in dependant.header_params):
            return True
        stack.extend(dependant.dependencies)
    return False


def statuses_for(route: APIRoute, path: str, method: str) -> set[int]:
    statuses = {422}
    if _takes_token_header(route):
        statuses.add(401)
    if credential_kind(route) == "holder":
        statuses |= {401, 403}  # 403: the holder's account is locked
    if _takes_credential_in_body(route):
        statuses |= {401, 403, 429}
    if _rate_limited(route):
        statuses.add(429)
    if path.startswith(OAUTH_PREFIXES):
        statuses |= {400, 401, 403}
    if not path.startswith(UNMETERED_PATHS):
        statuses.add(503)
    if credential_kind(route) is not None:
        statuses.add(401)
    if _checks_roles(route):
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        statuses.add(409)
    if route_reads_body(route):
        statuses.add(413)
    return statuses


def declare_error_responses(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for route, path, methods in api_routes(app):
        if not route.include_in_schema:
            continue
        operations = schema.get("paths", {}).get(path, {})
        for method in methods:
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared_by_route = {int(s) for s in (route.responses or {}) if str(s).isdigit()}
            for status in sorted(statuses_for(route, path, method)):
                if status in declared_by_route:
                    continue
                response: dict[str, Any] = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": REF}},
                }
                if path.startswith(OAUTH_PREFIXES) and status in (400, 401, 403):
                    response["content"] = {
                        "application/json": {"schema": OAUTH_ERROR_SCHEMA},
                        "text/html": {"schema": {"type": "string"}},
                    }
                if status in (429, 503):
                    response["headers"] = RETRY_AFTER
                responses[str(status)] = response
    add_links(schema)
    return schema


def add_links(schema: dict[str, Any]) -> None:
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None or "{" in path:
            continue
        links: dict[str, Any] = {}
        for other, other_item in paths.items():
            if not other.startswith(path + "/{"):
                continue
            parameter = other[len(path) + 2 :].split("}", 1)[0]
            for method, operation in other_item.items():
                if method in ("get", "put", "post", "delete", "patch"):
                    name = f"{method}_{other}".replace("/", "_").replace("{", "").replace("}", "")
                    links[name] = {
                        "operationId": operation["operationId"],
                        "parameters": {parameter: "$response.body#/id"},
                    }
        if links:
            created["links"] = links


def install_error_responses(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_error_responses(app, generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
