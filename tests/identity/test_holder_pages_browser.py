"""The holder's sign-in pages in each of the five languages, in a real browser (headless
Chromium): the language picked on the page is kept, nothing is refused by the page's policy, and
the layout holds on a phone's width as on a desk's."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode

import pytest

from eid.i18n import SUPPORTED, gettext
from tests.conftest import SHOTS
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.oidc_fixtures import REDIRECT, holder, register
from tests.web.browser import watch_csp

pytestmark = pytest.mark.usefixtures("server")


def _authorize_query(client_id: str) -> str:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid ekyc_basic residence",
            "state": "s-2",
            "nonce": "n-2",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )


def _fits(page: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} overflows by {overflow}px at {width}px"


def test_holder_pages_in_every_language(server: str, page: Any) -> None:
    rp = register(["openid", "ekyc_basic", "residence"], name="Ngân hàng Ví dụ")
    who = holder()
    csp = watch_csp(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The browser asks for Vietnamese (the fixture's locale): the first page is Vietnamese.
    page.goto(f"{server}/oauth2/authorize?{_authorize_query(rp.client_id)}")
    assert page.evaluate("document.documentElement.lang") == "vi"
    for language in SUPPORTED:
        # The picker: the same login page, with the next step kept, in the language picked.
        if language != "vi":
            page.click(f"nav.languages a[hreflang={language}]")
        assert page.evaluate("document.documentElement.lang") == language
        assert page.inner_text("h1") == gettext(language, "Sign in with your e-ID", domain="pages")
        for width in (390, 1280):
            _fits(page, width)
        page.screenshot(path=str(SHOTS / f"holder-login-{language}.png"), full_page=True)

    # Japanese was picked last: it stays for the next pages (cookie), the wrong-credential
    # answer and the consent page included, although the browser prefers Vietnamese.
    page.fill("input[name=eid_number]", who.eid_number)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=passcode]", "000000")
    page.click("button[type=submit]")
    alert = gettext("ja", "The e-ID number, password or passcode is not right.", domain="pages")
    assert page.inner_text("[role=alert]") == alert
    page.fill("input[name=eid_number]", who.eid_number)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=passcode]", PASSCODE)
    page.click("button[type=submit]")
    page.wait_for_selector("button[name=decision][value=allow]")
    assert page.evaluate("document.documentElement.lang") == "ja"
    claims = page.inner_text("#claims")
    for claim in ("full name", "residence card expiry date"):
        assert gettext("ja", claim, domain="pages") in claims
    for width in (390, 1280):
        _fits(page, width)
    page.screenshot(path=str(SHOTS / "holder-consent-ja.png"), full_page=True)
    page.click("nav.languages a[hreflang=ko]")
    assert page.inner_text("button[value=allow]") == gettext("ko", "Allow", domain="pages")
    page.screenshot(path=str(SHOTS / "holder-consent-ko.png"), full_page=True)
    csp.assert_clean()
