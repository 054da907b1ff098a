"""A real browser (headless Chromium driven by Playwright) walks the holder's login and consent
pages of the OpenID Connect flow, and an officer's campaign dashboard."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from eid.i18n import gettext
from tests.conftest import SHOTS
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.oidc_fixtures import REDIRECT, holder, register
from tests.web.browser import assert_session_unreadable, watch_csp

pytestmark = pytest.mark.usefixtures("server")


def test_holder_signs_in_and_consents_in_a_real_browser(server: str, page: object) -> None:
    rp = register(["openid", "ekyc_basic", "residence"], name="Ngân hàng Ví dụ")
    who = holder(language="vi")
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
    csp = watch_csp(page)
    page.goto(f"{server}/oauth2/authorize?{query}")  # type: ignore[attr-defined]
    # The relying party asked for Vietnamese (ui_locales), so the login page is in Vietnamese.
    assert page.inner_text("h1") == gettext(  # type: ignore[attr-defined]
        "vi", "Sign in with your e-ID", domain="pages"
    )
    page.fill("input[name=eid_number]", who.eid_number)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.fill("input[name=passcode]", PASSCODE)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("button[name=decision][value=allow]")  # type: ignore[attr-defined]
    text = page.inner_text("body")  # type: ignore[attr-defined]
    assert "Ngân hàng Ví dụ" in text
    assert "open a bank account (KYC)" in text  # the agreement's purpose is shown
    assert gettext("vi", "full name", domain="pages") in page.inner_text("#claims")  # type: ignore[attr-defined]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "consent.png"), full_page=True)  # type: ignore[attr-defined]
    page.click("button[name=decision][value=allow]")  # type: ignore[attr-defined]
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    assert landed, "the browser was not sent back to the relying party"
    params = parse_qs(urlparse(landed[0]).query)
    assert params["state"] == ["s-1"] and params["code"][0]
    # The consent form's redirect to the relying party is allowed by the page's form-action.
    csp.assert_clean()


def test_dashboard_page_signs_in_shows_the_campaign_and_signs_out(
    server: str, page: object
) -> None:
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.staff.service import create_officer, current_totp

    with unit_of_work() as session:
        made = create_officer(
            session,
            username="dash.auditor",
            password="a-long-password-1!",
            office="HN-01",
            role="auditor",
            actor=Actor.system("tests"),
        )
    csp = watch_csp(page)
    page.clock.install()  # type: ignore[attr-defined]
    stats: list[str] = []
    page.on(  # type: ignore[attr-defined]
        "request", lambda r: stats.append(r.url) if "/campaign/stats" in r.url else None
    )
    page.goto(f"{server}/dashboard")  # type: ignore[attr-defined]
    page.fill("#login [name=username]", "dash.auditor")  # type: ignore[attr-defined]
    page.fill("#login [name=password]", "a-long-password-1!")  # type: ignore[attr-defined]
    page.fill("#login [name=totp]", current_totp(made.totp_secret))  # type: ignore[attr-defined]
    page.click("#login button")  # type: ignore[attr-defined]
    page.wait_for_selector(".card")  # type: ignore[attr-defined]
    assert page.get_attribute("#scope", "data-scope") == "national"  # type: ignore[attr-defined]
    assert_session_unreadable(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)  # type: ignore[attr-defined]

    # It refreshes while in use, and stops once left untouched for the idle timeout, so an
    # unattended dashboard does not keep the session alive.
    with page.expect_request("**/campaign/stats"):  # type: ignore[attr-defined]
        page.clock.fast_forward("00:11")  # type: ignore[attr-defined]
    page.clock.fast_forward("16:00")  # type: ignore[attr-defined]
    page.clock.fast_forward("00:11")  # type: ignore[attr-defined]
    seen = len(stats)
    page.clock.fast_forward("00:11")  # type: ignore[attr-defined]
    page.evaluate("1")  # type: ignore[attr-defined]
    assert len(stats) == seen
    page.keyboard.press("Shift")  # type: ignore[attr-defined]
    with page.expect_request("**/campaign/stats"):  # type: ignore[attr-defined]
        page.clock.fast_forward("00:11")  # type: ignore[attr-defined]

    # A reload keeps the session (the cookie), without the form.
    page.reload()  # type: ignore[attr-defined]
    page.wait_for_selector(".card")  # type: ignore[attr-defined]
    assert not page.is_visible("#login-box")  # type: ignore[attr-defined]

    # Signing out revokes the session server-side: its token is refused even as a bearer.
    token = {c["name"]: c["value"] for c in page.context.cookies()}["eid_officer"]  # type: ignore[attr-defined]
    page.click("#sign-out")  # type: ignore[attr-defined]
    page.wait_for_selector("#login-box", state="visible")  # type: ignore[attr-defined]
    assert "eid_officer" not in {c["name"] for c in page.context.cookies()}  # type: ignore[attr-defined]
    refused = httpx.get(
        f"{server}/api/v1/campaign/stats", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 401
    csp.assert_clean()
