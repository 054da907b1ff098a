"""Passkeys in Debian's Chromium with its virtual authenticator (CDP `WebAuthn`): `passkey.js`
creates one for an activation, and `/oauth2/login` signs in with it for a relying party, whose
ID token then says `amr` ["hwk", "user"]."""

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
from tests.conftest import SHOTS
from tests.identity.factories import PASSCODE, PASSWORD, TEST_ACTOR, make_account
from tests.identity.oidc_fixtures import REDIRECT, register
from tests.web.browser import add_virtual_authenticator, virtual_credentials, watch_csp

# What a page of eid does with passkey.js: a ceremony, the authenticator, the activation.
_ACTIVATE = """async ([number, code, password, passcode]) => {
  const post = (path, body) => fetch(path, {method: "POST", headers: {"Content-Type":
    "application/json"}, body: JSON.stringify(body)}).then(async (r) => [r.status, await r.json()]);
  const [, options] = await post("/api/v1/identity/passkeys/options",
    {purpose: "activation", eid_number: number});
  const credential = await window.eidPasskey.create(options.public_key);
  return post("/api/v1/identity/activation", {eid_number: number, activation_code: code,
    password, passcode, passkey: {ceremony_id: options.ceremony_id, credential}, cookie: true});
}"""


def _authorize_query(client_id: str, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid ekyc_basic",
            "state": "s-1",
            "nonce": "n-1",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "ui_locales": "ja",
        }
    )


def test_relying_party_login_with_chromiums_virtual_authenticator(
    live_localhost: str, page: Any
) -> None:
    server = live_localhost
    with unit_of_work() as db:
        account_id, number = make_account(db, language="ja")
        code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    rp = register(["openid", "ekyc_basic"], name="Example Bank")
    authenticator = add_virtual_authenticator(page)
    csp = watch_csp(page)

    page.goto(f"{server}/oauth2/login")
    status, body = page.evaluate(_ACTIVATE, [number, code, PASSWORD, PASSCODE])
    assert status == 201, body
    assert set(body) == {"csrf_token", "acr", "expires_in"}
    [credential] = virtual_credentials(page, authenticator)
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"
    # The user handle is random, not the e-ID number.
    assert number not in base64.b64decode(credential["userHandle"]).decode("latin-1")
    page.context.clear_cookies()  # a fresh browser session for the relying party's login

    landed: list[str] = []
    page.on("request", lambda r: landed.append(r.url) if r.url.startswith(REDIRECT) else None)
    verifier = secrets.token_urlsafe(48)
    page.goto(f"{server}/oauth2/authorize?{_authorize_query(rp.client_id, verifier)}")
    button = page.get_by_role("button", name=gettext("ja", "Sign in with a passkey", "pages"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "oauth-login-passkey.png"), full_page=True)
    button.click()
    page.wait_for_selector("button[name=decision][value=allow]")
    page.click("button[name=decision][value=allow]")
    page.wait_for_timeout(500)
    assert landed, "the browser was not sent back to the relying party"
    params = parse_qs(urlparse(landed[0]).query)
    assert params["state"] == ["s-1"]
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
    assert claims["amr"] == ["hwk", "user"]
    assert virtual_credentials(page, authenticator)[0]["signCount"] >= 1
    csp.assert_clean()


def test_a_cancelled_passkey_is_announced_and_the_password_way_stays(
    live_localhost: str, page: Any
) -> None:
    add_virtual_authenticator(page)  # holds no passkey for this site: the browser gives up
    page.goto(f"{live_localhost}/oauth2/login?lang=vi")
    page.get_by_role("button", name=gettext("vi", "Sign in with a passkey", "pages")).click()
    status = page.locator("#passkey-status")
    expected = gettext(
        "vi",
        "The passkey was not used. Try again, or sign in with your password and passcode.",
        "pages",
    )
    page.wait_for_function(
        "(text) => document.getElementById('passkey-status').textContent === text", arg=expected
    )
    assert status.get_attribute("aria-live") == "polite"
    assert page.locator("input[name=password]").is_visible()
