"""A real browser (headless Chromium driven by Playwright) walks the holder's login and consent
pages of the OpenID Connect flow, and an officer's campaign dashboard."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.conftest import SHOTS
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.oidc_fixtures import REDIRECT, holder, register

pytestmark = pytest.mark.usefixtures("server")


def test_holder_signs_in_and_consents_in_a_real_browser(server: str, page: object) -> None:
    rp = register(["openid", "ekyc_basic", "residence"], name="Ngân hàng Ví dụ")
    who = holder()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid ekyc_basic",
            "state": "s-1",
            "nonce": "n-1",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "ui_locales": "vi",
        }
    )
    landed: list[str] = []
    # The relying party's callback does not exist here: the browser's request to it is seen.
    page.on(  # type: ignore[attr-defined]
        "request",
        lambda request: landed.append(request.url) if request.url.startswith(REDIRECT) else None,
    )
    page.goto(f"{server}/oauth2/authorize?{query}")  # type: ignore[attr-defined]
    page.fill("input[name=eid_number]", who.eid_number)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.fill("input[name=passcode]", PASSCODE)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("button[name=decision][value=allow]")  # type: ignore[attr-defined]
    text = page.inner_text("body")  # type: ignore[attr-defined]
    assert "Ngân hàng Ví dụ" in text
    assert "open a bank account (KYC)" in text  # the agreement's purpose is shown
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "consent.png"), full_page=True)  # type: ignore[attr-defined]
    page.click("button[name=decision][value=allow]")  # type: ignore[attr-defined]
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    assert landed, "the browser was not sent back to the relying party"
    params = parse_qs(urlparse(landed[0]).query)
    assert params["state"] == ["s-1"] and params["code"][0]


def test_dashboard_page_renders_for_an_officer_token(server: str, page: object) -> None:
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.staff.service import create_officer, current_totp, login

    with unit_of_work() as session:
        made = create_officer(
            session,
            username="dash.auditor",
            password="a-long-password-1!",
            office="HN-01",
            role="auditor",
            actor=Actor.system("tests"),
        )
    with unit_of_work() as session:
        token, _ = login(
            session,
            username="dash.auditor",
            password="a-long-password-1!",
            totp=current_totp(made.totp_secret),
            ttl_seconds=600,
        )
    page.goto(f"{server}/dashboard")  # type: ignore[attr-defined]
    page.fill("#token", token)  # type: ignore[attr-defined]
    page.click("#login button")  # type: ignore[attr-defined]
    page.wait_for_selector(".card")  # type: ignore[attr-defined]
    assert "national" in page.inner_text("#scope")  # type: ignore[attr-defined]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)  # type: ignore[attr-defined]
