"""Input limits at the HTTP edge: bodies bounded while they are read, credentials before bytes,
and text that PostgreSQL (or a person) cannot take refused with a code instead of a 500.

One ASGI middleware (`InputLimits`) finds the route a request with a body is for (a table built
from the app's routes on first use) and counts the body's bytes against that route's limit while
the route reads it: 64 KiB for JSON by default, more where a route says so with `@body_limit`.
A Content-Length over the route's limit is refused before the first byte is read, and so is a
request without any credential for a route that authenticates an officer or holder.

Why not Starlette's `RequestBodyLimitMiddleware`: it answers plain text (no stable code) and turns
an auth refusal of an over-long upload into a text 413 after the fact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eid.core.errors import ValidationFailed

JSON_BODY_LIMIT = 64 * 1024
# A portrait or a 500 ppi fingerprint from a real capture station is well under 1 MiB (the shared
# set's largest face is 176 KiB); 5 MiB leaves room for an uncompressed PNG of a large sensor.
IMAGE_BODY_LIMIT = 5 * 1024 * 1024
MAX_JSON_DEPTH = 32
EDGE_SCOPE_KEY = "eid.edge"
# Credentials the auth dependencies accept; their presence is checked before a body is read and
# the dependency validates them. Officer cookies come from the console's cookie sessions.
CREDENTIAL_COOKIES = ("eid_officer", "__Host-eid_officer", "eid_holder_session")

# NUL (PostgreSQL refuses it in text: HTTP 500 before), C0 controls other than tab, newline and
# carriage return, DEL, and lone surrogates (cannot be encoded as UTF-8: HTTP 500 before).
_INVALID_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

F = TypeVar("F", bound=Callable[..., Any])


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Declare a route's body limit (put it under the router's decorator)."""

    def mark(endpoint: F) -> F:
        endpoint.__eid_body_limit__ = max_bytes  # type: ignore[attr-defined]
        return endpoint

    return mark


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return json.dumps(body).encode()


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    body = error_body(code, message, details)
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Rejection(Exception):
    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def body_too_large(limit: int) -> Rejection:
    return Rejection(
        413,
        "BODY_TOO_LARGE",
        f"the request body is larger than this route accepts ({limit} bytes)",
        {"limit": limit},
    )


def invalid_text(where: str) -> Rejection:
    return Rejection(
        422,
        "INVALID_TEXT",
        "text may not contain NUL, control characters or invalid Unicode",
        {"where": where},
    )


@dataclass
class EdgeState:
    """Per request, shared by the middleware and the matched route's guard."""

    limit: int = JSON_BODY_LIMIT
    # A body without a Content-Type is read as JSON only by a route that declares a JSON body.
    untyped_is_json: bool = True
    received: int = 0
    rejection: Rejection | None = None


def text_problem(value: str) -> bool:
    return _INVALID_TEXT.search(value) is not None


def _strings(document: Any) -> Iterator[str]:
    """Every key and string value of a JSON document, depth-bounded, without recursion."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError("too deep")
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield key
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)


def check_body_text(content_type: str, body: bytes) -> Rejection | None:
    """JSON and form bodies: every string valid text. Malformed JSON is left to the route."""
    media = content_type.split(";")[0].strip().lower()
    if media in ("", "application/json") or media.endswith("+json"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return invalid_text("body")
        try:
            document = json.loads(text)
        except RecursionError:
            return Rejection(422, "BODY_TOO_DEEP", "the JSON body is nested too deeply")
        except ValueError:
            return None  # the route answers its own 422 for JSON that does not parse
        try:
            if any(text_problem(s) for s in _strings(document)):
                return invalid_text("body")
        except ValueError:
            return Rejection(422, "BODY_TOO_DEEP", "the JSON body is nested too deeply")
    elif media == "application/x-www-form-urlencoded":
        return _check_query(body.decode("latin-1"), "body")
    return None


def _check_query(raw: str, where: str) -> Rejection | None:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        return invalid_text(where)
    if any(text_problem(k) or text_problem(v) for k, v in pairs):
        return invalid_text(where)
    return None


@dataclass(frozen=True)
class RoutePolicy:
    path_format: str
    methods: frozenset[str]
    regex: re.Pattern[str]
    limit: int
    credential: str | None
    reads_body: bool
    json_body: bool


def api_routes(app: FastAPI) -> Iterator[tuple[APIRoute, str, frozenset[str]]]:
    """Every API route with its full path template (FastAPI >= 0.16x keeps included routers as
    inclusion contexts instead of copying their routes into `app.routes`)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: routes are flattened into the app
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route, route.path_format, frozenset(route.methods or ())
        return
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, APIRoute):
            path = context.path_format or context.route.path_format
            yield context.route, path, frozenset(context.methods or ())


def route_policies(app: FastAPI) -> list[RoutePolicy]:
    return [
        RoutePolicy(
            path_format=path,
            methods=methods,
            regex=compile_path(path)[0],
            limit=route_body_limit(route),
            credential=credential_kind(route),
            reads_body=route_reads_body(route),
            json_body=route.body_field is not None,
        )
        for route, path, methods in api_routes(app)
    ]


BODYLESS_METHODS = ("GET", "HEAD", "OPTIONS")


class InputLimits:
    """Counts body bytes against the route's limit; checks text in path, query and body;
    refuses a request without credentials for a route that needs them before reading it."""

    def __init__(self, app: ASGIApp, *, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self._policies: list[RoutePolicy] | None = None

    def policy_for(self, method: str, path: str) -> RoutePolicy | None:
        if self._policies is None:  # every route is in by the first request
            self._policies = route_policies(self.fastapi_app)
        for policy in self._policies:
            if method in policy.methods and policy.regex.match(path):
                return policy
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        early = invalid_text("path") if text_problem(path) else None
        if early is None:
            early = _check_query(scope.get("query_string", b"").decode("latin-1"), "query")
        if early is None and scope["method"] not in BODYLESS_METHODS:
            early = self._before_body(scope)
        if early is not None:
            await send_error(send, early.status, early.code, early.message, details=early.details)
            return
        await self._counted(scope, receive, send)

    def _before_body(self, scope: Scope) -> Rejection | None:
        policy = self.policy_for(scope["method"], scope.get("path", ""))
        state = EdgeState()
        scope[EDGE_SCOPE_KEY] = state
        if policy is None:
            return None
        state.limit = policy.limit
        state.untyped_is_json = policy.json_body
        if not policy.reads_body:
            return None
        if policy.credential is not None and not _has_credential(scope):
            code = "INVALID_TOKEN" if policy.credential == "officer" else "INVALID_SESSION"
            return Rejection(401, code, f"an {policy.credential} credential is required")
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > policy.limit:
            return body_too_large(policy.limit)
        return None

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: EdgeState = scope.setdefault(EDGE_SCOPE_KEY, EdgeState())
        content_type = Headers(scope=scope).get("content-type", "")
        checks_text = not content_type.lower().startswith("multipart/") and (
            bool(content_type) or state.untyped_is_json
        )
        kept: list[bytes] = []
        started = False

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk: bytes = message.get("body", b"")
            state.received += len(chunk)
            if state.received > state.limit:
                state.rejection = body_too_large(state.limit)
                raise state.rejection
            if checks_text:
                kept.append(chunk)
                if not message.get("more_body", False):
                    problem = check_body_text(content_type, b"".join(kept))
                    if problem is not None:
                        state.rejection = problem
                        raise problem
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if state.rejection is not None and not started:
                return  # whatever the route made of the refused body is replaced below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if state.rejection is None or started:
                raise
        rejection = state.rejection
        if rejection is not None and not started:
            await send_error(
                send, rejection.status, rejection.code, rejection.message, details=rejection.details
            )


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)


def credential_kind(route: APIRoute) -> str | None:
    """'officer' or 'holder' when the route's dependencies authenticate one, else None."""
    for call in dependency_calls(route.dependant):
        module = getattr(call, "__module__", "")
        name = getattr(call, "__name__", "")
        if module == "eid.staff.dependencies" and name == "current_officer":
            return "officer"
        if module == "eid.identity.dependencies" and name == "current_holder":
            return "holder"
    return None


def _has_credential(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "dpop") and token.strip():
        return True
    cookies = headers.get("cookie", "")
    return any(f"{name}=" in cookies for name in CREDENTIAL_COOKIES)


def route_body_limit(route: APIRoute) -> int:
    return int(getattr(route.endpoint, "__eid_body_limit__", JSON_BODY_LIMIT))


def route_reads_body(route: APIRoute) -> bool:
    if route.body_field is not None or hasattr(route.endpoint, "__eid_body_limit__"):
        return True
    # Handlers that parse the request themselves (OAuth forms) take `request: Request`.
    return route.dependant.request_param_name is not None and bool(
        (route.methods or set()) & {"POST", "PUT", "PATCH"}
    )


async def image_body(request: Request, max_bytes: int) -> bytes:
    """An uploaded image: the raw body, or the one file of a form upload. A malformed form (no
    boundary, a broken part) is refused like a missing image, with the route's declared 422,
    not Starlette's plain 400."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            form = await request.form()
        except (HTTPException, MultiPartException):
            form = None
        files = [v for v in form.values() if isinstance(v, UploadFile)] if form else []
        body = await files[0].read() if len(files) == 1 else b""
    else:
        body = await request.body()
    if not body:
        raise ValidationFailed("send the image bytes as the request body", code="IMAGE_MISSING")
    if len(body) > max_bytes:
        raise ValidationFailed("the image is larger than 5 MiB", code="IMAGE_TOO_LARGE")
    return body


def bounded_object(
    *, max_bytes: int, max_depth: int, max_keys: int
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A pydantic after-validator for a free-form JSON object kept in the database."""

    def check(value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, ensure_ascii=False).encode()) > max_bytes:
            raise ValueError(f"at most {max_bytes} bytes")
        keys = 0
        stack: list[tuple[Any, int]] = [(value, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > max_depth:
                raise ValueError(f"at most {max_depth} levels deep")
            if isinstance(node, dict):
                keys += len(node)
                stack.extend((v, depth + 1) for v in node.values())
            elif isinstance(node, list):
                stack.extend((v, depth + 1) for v in node)
        if keys > max_keys:
            raise ValueError(f"at most {max_keys} keys")
        return value

    return check
