"""Approval on the bound device in Debian's Chromium, two browsers side by side as a holder
would have them: the relying party's login page on a computer (one context) and the eID app on
the phone with its passkey (another context, Chromium's virtual authenticator). Approved, the
relying party's ID token says `acr` Level 2 and `amr` hwk; denied, its redirect URI gets
`access_denied`. Both pages are looked at on a phone's screen, scanned by axe, and run under
their Content-Security-Policy without a refusal."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from eid.authority import service as authority
from eid.core.database import unit_of_work
from eid.i18n import gettext
from eid.identity.service import ACR_LEVEL2
from tests.identity.factories import PASSCODE, PASSWORD, TEST_ACTOR, make_account
from tests.identity.oidc_fixtures import REDIRECT, register
from tests.web.axe import PHONE, axe_scan, screenshot
from tests.web.browser import add_virtual_authenticator, watch_csp

_ACTIVATE = """async ([number, code, password, passcode]) => {
  const post = (path, body) => fetch(path, {method: "POST", headers: {"Content-Type":
    "application/json"}, body: JSON.stringify(body)}).then(async (r) => [r.status, await r.json()]);
  const [, options] = await post("/api/v1/identity/passkeys/options",
    {purpose: "activation", eid_number: number});
  const credential = await window.eidPasskey.create(options.public_key);
  return post("/api/v1/identity/activation", {eid_number: number, activation_code: code,
    password, passcode, passkey: {ceremony_id: options.ceremony_id, credential}, cookie: true});
}"""


def _pages(lang: str, text: str, **params: Any) -> str:
    return gettext(lang, text, "pages", **params)


def _phone_with_passkey(page: Any, server: str, lang: str) -> str:
    """The holder's phone: the eID app activated with a passkey, signed in. The e-ID number."""
    with unit_of_work() as db:
        account_id, number = make_account(db, language=lang)
        code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    page.set_viewport_size(PHONE)
    add_virtual_authenticator(page)
    page.goto(f"{server}/app/activate")
    status, body = page.evaluate(_ACTIVATE, [number, code, PASSWORD, PASSCODE])
    assert status == 201, body
    return number


def _authorize_query(client_id: str, verifier: str, lang: str, login_hint: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid ekyc_basic",
            "state": "s-approve",
            "nonce": "n-1",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "ui_locales": lang,
            "login_hint": login_hint,
        }
    )


def _login_page_asks(
    computer: Any, server: str, client_id: str, verifier: str, lang: str, number: str
) -> str:
    """On the relying party's login page: "approve in the eID app", the e-ID number already
    there (`login_hint`). Returns the number the waiting page shows."""
    computer.set_viewport_size(PHONE)
    computer.goto(
        f"{server}/oauth2/authorize?{_authorize_query(client_id, verifier, lang, number)}"
    )
    assert computer.input_value("#approve-eid") == number
    assert axe_scan(computer) == []
    screenshot(computer, f"approval-login-page-{lang}")
    computer.get_by_role("button", name=_pages(lang, "Approve on my phone")).click()
    computer.wait_for_url("**/oauth2/approval/*")
    shown = computer.locator("#matching-code").inner_text().strip()
    assert len(shown) == 2 and shown.isdigit()
    assert computer.locator("h1").inner_text() == _pages(lang, "Approve in the eID app")
    assert axe_scan(computer) == []
    return shown


def _request_on_the_phone(phone: Any, server: str, lang: str, shown: str) -> None:
    if not phone.url.endswith("/app/approvals"):
        phone.goto(f"{server}/app/approvals")
    # Open before the request came, the page shows it by itself.
    phone.locator("#approval-heading").wait_for(timeout=10000)
    heading = phone.locator("#approval-heading")
    assert heading.inner_text() == _pages(
        lang, "%(party)s asks you to sign in", party="Example Bank"
    )
    choices = [c.strip() for c in phone.locator("label.choice").all_inner_texts()]
    assert shown in choices and len(choices) == 3
    assert phone.locator("ul.claims li").count() >= 3  # sub, name, date of birth, ...
    assert axe_scan(phone) == []


def _redirects(computer: Any) -> list[str]:
    landed: list[str] = []
    computer.on("request", lambda r: landed.append(r.url) if r.url.startswith(REDIRECT) else None)
    return landed


def test_approved_on_the_phone_the_bank_gets_acr_level2_amr_hwk(
    live_localhost: str, page: Any
) -> None:
    server, lang = live_localhost, "ja"
    phone = page
    phone_csp = watch_csp(phone)
    number = _phone_with_passkey(phone, server, lang)
    rp = register(["openid", "ekyc_basic"], name="Example Bank")
    computer = page.context.browser.new_context(locale="ja-JP").new_page()
    computer_csp = watch_csp(computer)
    landed = _redirects(computer)
    verifier = secrets.token_urlsafe(48)
    phone.goto(f"{server}/app/approvals")
    nothing = _pages(lang, "No sign-in is waiting for your approval.")
    assert phone.locator("#approvals-empty").inner_text() == nothing

    shown = _login_page_asks(computer, server, rp.client_id, verifier, lang, number)
    screenshot(computer, "approval-login-waiting-ja")
    _request_on_the_phone(phone, server, lang, shown)
    phone.locator("label.choice", has_text=shown).click()
    screenshot(phone, "approval-app-request-ja")
    phone.get_by_role("button", name=_pages(lang, "Approve with my passkey")).click()
    approved = _pages(lang, "Approved. The sign-in continues on the other screen.")
    phone.locator("#app-status", has_text=approved).wait_for()
    screenshot(phone, "approval-app-approved-ja")

    # The waiting page sees the approval by itself and goes on to the consent page.
    computer.wait_for_selector("button[name=decision][value=allow]", timeout=15000)
    computer.click("button[name=decision][value=allow]")
    computer.wait_for_timeout(500)
    assert landed, "the computer was not sent back to the relying party"
    params = parse_qs(urlparse(landed[0]).query)
    assert params["state"] == ["s-approve"] and params["iss"] == [server]
    token = httpx.post(
        f"{server}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(rp.client_id, rp.client_secret),
    )
    assert token.status_code == 200, token.text
    jwks = KeySet.import_key_set(httpx.get(f"{server}/oauth2/jwks").json())
    claims = jwt.decode(token.json()["id_token"], jwks, algorithms=["ES256"]).claims
    assert claims["acr"] == ACR_LEVEL2
    assert "hwk" in claims["amr"] and claims["amr"] == ["hwk", "user"]
    phone_csp.assert_clean()
    computer_csp.assert_clean()


def test_denied_on_the_phone_the_bank_gets_access_denied(live_localhost: str, page: Any) -> None:
    server, lang = live_localhost, "vi"
    phone = page
    phone_csp = watch_csp(phone)
    number = _phone_with_passkey(phone, server, lang)
    rp = register(["openid", "ekyc_basic"], name="Example Bank")
    computer = page.context.browser.new_context(locale="vi-VN").new_page()
    computer_csp = watch_csp(computer)
    landed = _redirects(computer)

    shown = _login_page_asks(computer, server, rp.client_id, "v" * 50, lang, number)
    screenshot(computer, "approval-login-waiting-vi")
    _request_on_the_phone(phone, server, lang, shown)
    screenshot(phone, "approval-app-request-vi")
    phone.get_by_role("button", name=_pages(lang, "Deny")).click()
    denied = _pages(lang, "Denied. Nobody signs in with this request.")
    phone.locator("#app-status", has_text=denied).wait_for()

    computer.wait_for_function("() => document.readyState", timeout=1000)
    for _ in range(60):
        if landed:
            break
        computer.wait_for_timeout(250)
    assert landed, "the computer was not sent back to the relying party"
    params = parse_qs(urlparse(landed[0]).query)
    assert params["error"] == ["access_denied"]
    assert params["state"] == ["s-approve"] and params["iss"] == [server]
    phone_csp.assert_clean()
    computer_csp.assert_clean()
