"""The app as production builds it (EID_ENV=production): no developer tools, every response
hardened for browsers, every cookie Secure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from eid.app import create_app
from eid.core.audit import Actor
from eid.core.crypto import get_keystore
from eid.core.database import unit_of_work
from eid.core.keyset import init_keys
from eid.core.settings import get_settings
from eid.staff.service import create_officer, current_totp

ISSUER = "https://eid.example.gov.vn"


@pytest.fixture
def production_env(
    committed: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.MonkeyPatch]:
    init_keys(tmp_path / "keys")
    with monkeypatch.context() as env:
        env.setenv("EID_ENV", "production")
        env.setenv("EID_KEYS_DIR", str(tmp_path / "keys"))
        env.setenv("EID_ISSUER", ISSUER)
        env.setenv("EID_SMTP_HOST", "127.0.0.1")
        env.setenv("EID_SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")
        get_settings.cache_clear()
        get_keystore.cache_clear()
        try:
            yield env
        finally:
            get_settings.cache_clear()
            get_keystore.cache_clear()


def _client() -> TestClient:
    # https: the browser would send Secure cookies back only over it.
    return TestClient(create_app(), base_url=ISSUER)


def test_production_serves_no_docs_and_the_openapi_only_when_configured(
    production_env: pytest.MonkeyPatch,
) -> None:
    with _client() as client:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect", "/openapi.json"):
            assert client.get(path).status_code == 404, path
        assert client.get("/healthz").status_code == 200

    production_env.setenv("EID_PUBLISH_OPENAPI", "true")
    get_settings.cache_clear()
    with _client() as client:
        assert client.get("/openapi.json").json()["info"]["title"] == "eid"
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404


def test_development_keeps_the_developer_tools(committed: Engine) -> None:
    with TestClient(create_app()) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 200, path


def test_every_production_response_carries_the_browser_protections(
    production_env: pytest.MonkeyPatch,
) -> None:
    with _client() as client:
        responses = {
            "page": client.get("/reviews"),
            "console": client.get("/console"),
            "api error": client.get("/api/v1/reviews"),
            "not found": client.get("/no/such/page"),
            "health": client.get("/healthz"),
            "holder login": client.get("/oauth2/login"),
        }
    for what, response in responses.items():
        headers = response.headers
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains", what
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, what
        assert "unsafe-inline" not in policy, what
        assert headers["x-content-type-options"] == "nosniff", what
        assert headers["referrer-policy"] == "no-referrer", what
        assert headers["x-frame-options"] == "DENY", what
    assert responses["api error"].status_code == 401


def test_every_cookie_production_sets_is_secure(production_env: pytest.MonkeyPatch) -> None:
    password = "a-long-password-1!"
    with unit_of_work() as session:
        officer = create_officer(
            session,
            username="prod.cookie",
            password=password,
            office="HN-01",
            role="supervisor",
            actor=Actor.system("tests"),
        )
    with _client() as client:
        signed_in = client.post(
            "/api/v1/officer/browser-sessions",
            json={
                "username": "prod.cookie",
                "password": password,
                "totp": current_totp(officer.totp_secret),
            },
        )
        assert signed_in.status_code == 201, signed_in.text
        language = client.get("/console?lang=en")
        csrf = signed_in.json()["csrf_token"]
        signed_out = client.delete(
            "/api/v1/officer/sessions/current", headers={"X-CSRF-Token": csrf}
        )
    assert signed_out.status_code == 204
    cookies = {
        "officer session": signed_in.headers["set-cookie"],
        "language": language.headers["set-cookie"],
        "sign-out": signed_out.headers["set-cookie"],
    }
    for what, cookie in cookies.items():
        assert "Secure" in cookie and "HttpOnly" in cookie, (what, cookie)
    assert cookies["officer session"].startswith("__Host-")
