"""The officer pages' session: an HttpOnly cookie no script reads, a CSRF token for every call
that changes something, sign-out that revokes, and an idle timeout."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from eid.core import clock
from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.core.settings import get_settings
from eid.staff.service import create_officer, current_totp

PASSWORD = "a-long-password-1!"


def _officer(username: str, role: str = "supervisor") -> dict[str, str]:
    with unit_of_work() as session:
        made = create_officer(
            session,
            username=username,
            password=PASSWORD,
            office="HN-01",
            role=role,
            actor=Actor.system("tests"),
        )
    return {"username": username, "password": PASSWORD, "totp": current_totp(made.totp_secret)}


def _sign_in(api: Any, username: str) -> tuple[str, str]:
    """Signs in as the page does: returns (session cookie value, CSRF token)."""
    response = api.post("/api/v1/officer/browser-sessions", json=_officer(username))
    assert response.status_code == 201, response.text
    return response.cookies["eid_officer"], response.json()["csrf_token"]


def test_page_sign_in_sets_an_httponly_strict_cookie_and_returns_no_token(api: Any) -> None:
    response = api.post("/api/v1/officer/browser-sessions", json=_officer("cookie.one"))
    assert response.status_code == 201
    body = response.json()
    assert "access_token" not in body and body["username"] == "cookie.one"
    assert body["idle_timeout"] == get_settings().officer_idle_timeout_seconds
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("eid_officer=")
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie and "Path=/" in set_cookie
    assert "Secure" not in set_cookie  # development over http; production: see below
    assert response.cookies["eid_officer"] not in response.text

    # The page, reloaded with the cookie, is signed in and carries the CSRF token (not the
    # session) for its scripts.
    page = api.get("/reviews").text
    assert re.search(rf'<meta name="csrf-token" content="{body["csrf_token"]}">', page)
    assert response.cookies["eid_officer"] not in page and "cookie.one" in page


def test_the_api_login_still_answers_a_bearer_token(api: Any) -> None:
    response = api.post("/api/v1/officer/sessions", json=_officer("bearer.one"))
    assert response.status_code == 201
    assert response.json()["token_type"] == "bearer" and "set-cookie" not in response.headers
    token = response.json()["access_token"]
    assert api.get("/api/v1/reviews", headers={"Authorization": f"Bearer {token}"}).is_success


def test_state_changing_calls_with_the_cookie_need_the_csrf_token(api: Any) -> None:
    _, csrf = _sign_in(api, "csrf.one")
    assert api.get("/api/v1/reviews").status_code == 200  # reading needs no token

    for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": ""}):
        refused = api.post("/api/v1/applications", json={}, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "CSRF_TOKEN_INVALID"
        refused = api.delete("/api/v1/officer/sessions/current", headers=headers)
        assert refused.json()["error"]["code"] == "CSRF_TOKEN_INVALID"
    # With it, the request goes through to the endpoint (which judges the body).
    accepted = api.post("/api/v1/applications", json={}, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 422
    # Another session's token is no good either.
    other = api.post("/api/v1/officer/browser-sessions", json=_officer("csrf.two"))
    assert other.json()["csrf_token"] != csrf
    stale = api.post("/api/v1/applications", json={}, headers={"X-CSRF-Token": csrf})
    assert stale.status_code == 403


def test_sign_in_from_another_sites_page_is_refused(api: Any) -> None:
    response = api.post(
        "/api/v1/officer/browser-sessions",
        json=_officer("login.csrf"),
        headers={"Origin": "https://attacker.example"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "CROSS_ORIGIN_REQUEST"
    assert "set-cookie" not in response.headers


def test_sign_out_revokes_the_session_and_clears_the_cookie(api: Any) -> None:
    cookie, csrf = _sign_in(api, "leaving.one")
    response = api.delete("/api/v1/officer/sessions/current", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert re.match(r'eid_officer="?"?;.*Max-Age=0', response.headers["set-cookie"])
    # The token is dead server-side: a copy of the cookie, or the token as a bearer, is refused.
    api.cookies.clear()
    api.cookies.set("eid_officer", cookie)
    assert api.get("/api/v1/reviews").json()["error"]["code"] == "TOKEN_REVOKED"
    api.cookies.clear()
    refused = api.get("/api/v1/reviews", headers={"Authorization": f"Bearer {cookie}"})
    assert refused.status_code == 401

    token = api.post("/api/v1/officer/sessions", json=_officer("leaving.two")).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert api.delete("/api/v1/officer/sessions/current", headers=bearer).status_code == 204
    assert api.get("/api/v1/reviews", headers=bearer).status_code == 401


def test_an_unused_session_ends_after_the_idle_timeout(api: Any) -> None:
    idle = dt.timedelta(seconds=get_settings().officer_idle_timeout_seconds)
    _sign_in(api, "idle.one")
    token = api.post("/api/v1/officer/sessions", json=_officer("idle.two")).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    for _ in range(3):  # used just inside the timeout, again and again: still signed in
        clock.shift(idle - dt.timedelta(minutes=1))
        assert api.get("/api/v1/reviews").status_code == 200
        assert api.get("/api/v1/reviews", headers=bearer).status_code == 200
    clock.shift(idle + dt.timedelta(seconds=1))
    for response in (api.get("/api/v1/reviews"), api.get("/api/v1/reviews", headers=bearer)):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "SESSION_IDLE"
    assert 'name="csrf-token"' not in api.get("/reviews").text  # the page asks to sign in


def test_production_cookie_is_secure_and_host_only(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`__Host-` + Secure in production: the browser refuses it over http or from a sibling
    host."""
    from eid.staff.dependencies import session_cookie

    credentials = _officer("prod.one")
    try:
        with monkeypatch.context() as env:
            env.setenv("EID_ENV", "production")
            env.setenv("EID_ISSUER", "https://eid.example.gov.vn")
            env.setenv("EID_SMTP_HOST", "127.0.0.1")
            env.setenv("EID_SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")
            get_settings.cache_clear()
            assert session_cookie() == "__Host-eid_officer"
            response = api.post("/api/v1/officer/browser-sessions", json=credentials)
            assert response.status_code == 201, response.text
            set_cookie = response.headers["set-cookie"]
    finally:
        get_settings.cache_clear()
    assert set_cookie.startswith("__Host-eid_officer=")
    assert "Secure" in set_cookie and "Path=/" in set_cookie and "Domain" not in set_cookie
