"""Every route is either behind an officer or holder login, or rate limited (`core.throttle`):
an anonymous or credential endpoint added later without a limit fails here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from eid.app import domain_routers
from eid.identity.dependencies import current_holder
from eid.staff.dependencies import current_officer
from eid.web.holder_app.pages import page_holder

# Pages that are the same for everyone, with no work behind them to abuse. The public documents
# (discovery, keys, the card's metadata, root certificate and status list) are limited too: the
# status list is judged and signed per request.
UNLIMITED = {
    ("GET", "/oauth2/login"),  # the empty form; its POST is limited
    ("GET", "/console"),  # pages that call the officer API with the officer's token
    ("GET", "/dashboard"),
    ("GET", "/reviews"),
    ("GET", "/locks"),
    ("GET", "/profiles"),
    # The holder app's shell: the same documents for everyone (a signed-in holder's start page
    # only adds a link); the pages with personal data need the holder's session.
    ("GET", "/app"),
    ("GET", "/app/manifest.webmanifest"),
    ("GET", "/app/sw.js"),
    ("GET", "/app/offline/{lang}"),
    # The holder's account forms (activate, sign in): the same empty forms for everyone; their
    # scripts call the limited API.
    ("GET", "/app/activate"),
    ("GET", "/app/sign-in"),
    ("GET", "/app/register"),  # the empty steps; the registration API they call is limited
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _unguarded() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for router in domain_routers():
        for route in router.routes:
            assert isinstance(route, APIRoute), route
            calls = list(_calls(route.dependant))
            limited = any(hasattr(c, "throttle_policy") for c in calls)
            # A holder app page without a session only redirects to the sign-in page.
            logged_in = any(c in (current_officer, current_holder, page_holder) for c in calls)
            if not (limited or logged_in):
                found.update((method, route.path) for method in route.methods or ())
    return found


def test_every_anonymous_route_is_rate_limited() -> None:
    assert _unguarded() == UNLIMITED


def test_the_credential_endpoints_are_limited() -> None:
    """The checker sees a limit where there is one (so the test above can fail)."""
    limited = {
        (method, route.path)
        for router in domain_routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        and any(hasattr(c, "throttle_policy") for c in _calls(route.dependant))
        for method in route.methods or ()
    }
    assert {
        ("POST", "/api/v1/officer/sessions"),
        ("POST", "/api/v1/identity/sessions"),
        ("POST", "/api/v1/identity/activation"),
        ("POST", "/api/v1/identity/activation/code-request"),
        ("POST", "/api/v1/identity/challenges"),
        ("POST", "/api/v1/identity/devices/rebind"),
        ("POST", "/api/v1/identity/devices/rebind/complete"),
        ("POST", "/api/v1/me/unlock"),
        ("POST", "/oauth2/login"),
        ("POST", "/oauth2/token"),
        ("GET", "/oauth2/authorize"),
        ("POST", "/api/v1/wallet/verifier/nonces"),
        ("GET", "/api/v1/wallet/status/{name}"),
        ("GET", "/api/v1/wallet/issuer/root.crl"),
        ("GET", "/.well-known/openid-configuration"),
        ("GET", "/.well-known/jwt-vc-issuer"),
        ("GET", "/api/v1/consent-texts/{version}"),
        ("POST", "/api/v1/applications/{app_id}/phone-verification"),
        ("POST", "/api/v1/applications/{app_id}/phone-verification/confirmation"),
    } <= limited


def test_rate_limited_routes_declare_429_with_retry_after() -> None:
    from fastapi.testclient import TestClient

    from eid.app import create_app

    paths = TestClient(create_app()).get("/openapi.json").json()["paths"]
    for path, method in (
        ("/api/v1/identity/challenges", "post"),
        ("/api/v1/identity/activation/code-request", "post"),
        ("/api/v1/wallet/verifier/nonces", "post"),
        ("/api/v1/consent-texts/{version}", "get"),
        ("/oauth2/token", "post"),
    ):
        declared = paths[path][method]["responses"]
        assert "Retry-After" in declared["429"]["headers"], (method, path)
