"""The holder's account pages in Chromium at a phone's size, with Chromium's virtual
authenticator: activate with a passkey, sign out and in with it (or password and passcode),
rebind the device (password, SMS code, selfie, new passkey), change password and passcode; the
refusals named in the holder's language; axe-core on each page."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from eid.authority import service as authority
from eid.core.database import unit_of_work
from eid.i18n import gettext
from eid.identity.models import Device
from tests.identity.factories import PASSCODE, PASSWORD, TEST_ACTOR, make_account
from tests.support import code_in, outbox, wait_until
from tests.web.axe import axe_scan, screenshot
from tests.web.browser import add_virtual_authenticator, virtual_credentials, watch_csp

COOKIE = "eid_holder_session"


def _pending(language: str = "en", portrait: bytes | None = None) -> tuple[Any, str, str]:
    with unit_of_work() as db:
        account_id, number = make_account(db, language=language, portrait=portrait)
        code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    return account_id, number, code


def _at(path: str, query: str = "") -> Any:
    """A URL predicate: this page (a glob would also match `?next=<path>`)."""
    return lambda url: urlsplit(url).path == path and query in urlsplit(url).query


def _t(lang: str, text: str) -> str:
    return gettext(lang, text, domain="pages")


def _session_cookie(page: Any) -> dict[str, Any]:
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies[COOKIE]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    assert session["value"] not in page.evaluate("document.cookie")
    return dict(session)


def _activate(page: Any, server: str, number: str, code: str, lang: str) -> None:
    page.goto(f"{server}/app/activate?lang={lang}")
    # Typed as people write numbers: in groups.
    page.get_by_label(_t(lang, "e-ID number")).fill(f"{number[:4]} {number[4:8]} {number[8:]}")
    page.get_by_label(_t(lang, "Activation code")).fill(code)
    page.get_by_label(_t(lang, "New password")).fill(PASSWORD)
    page.get_by_label(_t(lang, "New passcode")).fill(PASSCODE)
    page.get_by_role("button", name=_t(lang, "Activate and create a passkey")).click()


def test_activate_with_a_passkey_sign_out_and_sign_in_with_it(
    live_localhost: str, phone: Any
) -> None:
    server, lang = live_localhost, "ko"
    _, number, code = _pending(language=lang)
    authenticator = add_virtual_authenticator(phone)
    csp = watch_csp(phone)

    phone.goto(f"{server}/app/activate?lang={lang}")
    assert axe_scan(phone) == []
    screenshot(phone, "app-activate-ko")
    _activate(phone, server, number, code, lang)
    phone.wait_for_url(_at("/app/home"))
    _session_cookie(phone)
    [credential] = virtual_credentials(phone, authenticator)
    assert credential["rpId"] == "localhost" and credential["isResidentCredential"]

    # Signed in: the session's page data, then sign out through the API with the CSRF token.
    current = phone.evaluate(
        "async () => (await fetch('/api/v1/identity/sessions/current')).json()"
    )
    assert current.get("amr") == ["otp", "pwd", "hwk", "user"], current
    assert current["eid_number"] == number
    status = phone.evaluate(
        "async (csrf) => (await fetch('/api/v1/identity/sessions/current', {method: 'DELETE',"
        " headers: {'X-CSRF-Token': csrf}})).status",
        current["csrf_token"],
    )
    assert status == 204
    assert COOKIE not in {c["name"] for c in phone.context.cookies()}

    phone.goto(f"{server}/app/sign-in?lang={lang}&next=/app/device")
    assert axe_scan(phone) == []
    screenshot(phone, "app-sign-in-ko")
    phone.get_by_role("button", name=_t(lang, "Sign in with a passkey")).click()
    phone.wait_for_url(_at("/app/device"))
    current = phone.evaluate(
        "async () => (await fetch('/api/v1/identity/sessions/current')).json()"
    )
    assert current.get("amr") == ["hwk", "user"], current
    assert phone.locator("#devices .badge.ok").inner_text() == _t(lang, "Bound")
    assert axe_scan(phone) == []
    screenshot(phone, "app-device-ko")
    csp.assert_clean()


def test_activation_refusals_name_what_to_fix_in_the_holders_language(
    live_localhost: str, phone: Any
) -> None:
    server, lang = live_localhost, "vi"
    _, number, code = _pending()
    add_virtual_authenticator(phone)
    phone.goto(f"{server}/app/activate?lang={lang}")
    phone.get_by_role("button", name=_t(lang, "Activate and create a passkey")).click()
    alert = phone.locator("#app-error")
    label = _t(lang, "e-ID number")
    assert alert.inner_text() == f"{_t(lang, 'Fill in this field:')} {label}"
    assert phone.get_by_label(label).get_attribute("aria-invalid") == "true"

    phone.get_by_label(_t(lang, "e-ID number")).fill(number)
    phone.get_by_label(_t(lang, "Activation code")).fill(code)
    phone.get_by_label(_t(lang, "New password")).fill("weakpass")
    phone.get_by_label(_t(lang, "New passcode")).fill(PASSCODE)
    phone.get_by_role("button", name=_t(lang, "Activate and create a passkey")).click()
    phone.wait_for_function("() => document.getElementById('app-error').textContent !== ''")
    wait_until(lambda: "mật khẩu" in alert.inner_text())
    # The rules it misses, in Vietnamese, and the field marked.
    assert gettext(lang, "needs a digit") in alert.inner_text()
    assert phone.get_by_label(_t(lang, "New password")).get_attribute("aria-invalid") == "true"
    assert axe_scan(phone) == []
    screenshot(phone, "app-activate-refused-vi")

    phone.get_by_label(_t(lang, "New password")).fill(PASSWORD)
    phone.get_by_label(_t(lang, "Activation code")).fill("000000")
    phone.get_by_role("button", name=_t(lang, "Activate and create a passkey")).click()
    wait_until(
        lambda: (
            phone.get_by_label(_t(lang, "Activation code")).get_attribute("aria-invalid") == "true"
        )
    )
    assert (
        gettext(
            lang,
            "wrong e-ID number or activation code, or too many attempts: wait, or ask for a "
            "new code",
        )
        in alert.inner_text()
    )


def test_sign_in_with_password_and_passcode_then_change_both(
    live_localhost: str, phone: Any
) -> None:
    server, lang = live_localhost, "ja"
    account_id, number, code = _pending(language=lang)
    add_virtual_authenticator(phone)
    _activate(phone, server, number, code, lang)
    phone.wait_for_url(_at("/app/home"))
    phone.context.clear_cookies()

    phone.goto(f"{server}/app/security?lang={lang}")
    phone.wait_for_url(_at("/app/sign-in"))
    assert "next=%2Fapp%2Fsecurity" in phone.url
    phone.goto(f"{server}/app/sign-in?lang={lang}&next=/app/security")
    phone.get_by_label(_t(lang, "e-ID number")).fill(number)
    phone.get_by_label(_t(lang, "Password"), exact=True).fill(PASSWORD)
    phone.get_by_label(_t(lang, "6-digit passcode")).fill(PASSCODE)
    phone.get_by_role("button", name=_t(lang, "Sign in"), exact=True).click()
    phone.wait_for_url(_at("/app/security"))
    assert axe_scan(phone) == []

    form = phone.locator("#password-change")
    form.get_by_label(_t(lang, "Current password")).fill("Wr0ng!Pass")
    form.get_by_label(_t(lang, "New password")).fill("N3w!Password")
    form.get_by_role("button").click()
    alert = phone.locator("#app-error")
    wait_until(lambda: alert.inner_text() != "")
    assert alert.inner_text() == gettext(lang, "the current password is not right")
    assert form.get_by_label(_t(lang, "Current password")).get_attribute("aria-invalid") == "true"

    form.get_by_label(_t(lang, "Current password")).fill(PASSWORD)
    form.get_by_role("button").click()
    status = phone.locator("#app-status")
    wait_until(lambda: status.inner_text() == _t(lang, "Your password has been changed."))

    passcode = phone.locator("#passcode-change")
    passcode.get_by_label(_t(lang, "Password"), exact=True).fill("N3w!Password")
    passcode.get_by_label(_t(lang, "New passcode")).fill("975310")
    passcode.get_by_role("button").click()
    wait_until(lambda: status.inner_text() == _t(lang, "Your passcode has been changed."))
    screenshot(phone, "app-security-ja")
    with unit_of_work() as db:
        sent = {m.template for m in outbox(db, account_id)}
    assert {"password_changed", "passcode_changed"} <= sent


def test_rebind_the_device_with_sms_code_selfie_and_a_new_passkey(
    live_localhost: str, phone: Any, shared_data: Path
) -> None:
    server, lang = live_localhost, "zh"
    faces = shared_data / "faces"
    account_id, number, code = _pending(
        language=lang, portrait=(faces / "df00_deepface_img1.jpg").read_bytes()
    )
    old = add_virtual_authenticator(phone)
    _activate(phone, server, number, code, lang)
    phone.wait_for_url(_at("/app/home"))
    # The phone is lost: a new browser, signed out, with its own authenticator.
    phone.context.clear_cookies()
    phone.virtual_authenticator_cdp.send(
        "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": old}
    )
    new = add_virtual_authenticator(phone)

    phone.goto(f"{server}/app/device?lang={lang}")
    assert axe_scan(phone) == []
    phone.get_by_label(_t(lang, "e-ID number")).fill(number)
    phone.get_by_label(_t(lang, "Password")).fill(PASSWORD)
    phone.get_by_role("button", name=_t(lang, "Send the SMS code")).click()
    status = phone.locator("#app-status")
    wait_until(
        lambda: status.inner_text() == _t(lang, "We sent a code by SMS to your registered phone.")
    )
    with unit_of_work() as db:
        [sms] = [m for m in outbox(db, account_id, "device_rebind_otp") if m.channel == "sms"]
    selfie = phone.get_by_label(_t(lang, "Selfie"))
    assert selfie.get_attribute("capture") == "user"
    phone.get_by_label(_t(lang, "SMS code")).fill(code_in(sms.text))
    selfie.set_input_files(str(faces / "df00_deepface_img2.jpg"))
    assert axe_scan(phone) == []
    screenshot(phone, "app-rebind-zh")
    phone.get_by_role("button", name=_t(lang, "Create the passkey and bind this device")).click()
    phone.wait_for_url(_at("/app/device", "bound=1"), timeout=60000)
    assert phone.locator("#app-status").inner_text() == _t(
        lang, "This device is now bound to your account. The previous one no longer works."
    )
    assert len(virtual_credentials(phone, new)) == 1
    with unit_of_work() as db:
        kinds = [
            (d.kind, d.status)
            for d in db.execute(
                select(Device).where(Device.account_id == account_id).order_by(Device.created_at)
            ).scalars()
        ]
    assert kinds == [("passkey", "unbound"), ("passkey", "bound")]
    assert phone.locator("#devices li").count() == 2
    screenshot(phone, "app-device-rebound-zh")


def test_activated_in_the_app_then_a_relying_party_login_with_the_passkey(
    live_localhost: str, phone: Any
) -> None:
    """The issue's story (b): an account issued by the officer procedure (the authority's
    account request), activated in the app, then a bank's login with the passkey: the ID token
    says `hwk` and `user`, and the holder's access history shows the bank."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlencode

    import httpx
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from tests.identity.oidc_fixtures import REDIRECT, register

    server, lang = live_localhost, "en"
    _, number, code = _pending(language=lang)
    add_virtual_authenticator(phone)
    _activate(phone, server, number, code, lang)
    phone.wait_for_url(_at("/app/home"))
    phone.context.clear_cookies()

    rp = register(["openid", "ekyc_basic"], name="Example Bank")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid ekyc_basic",
            "state": "s-2",
            "ui_locales": lang,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )
    landed: list[str] = []
    phone.on("request", lambda r: landed.append(r.url) if r.url.startswith(REDIRECT) else None)
    phone.goto(f"{server}/oauth2/authorize?{query}")
    phone.get_by_role("button", name=_t(lang, "Sign in with a passkey")).click()
    phone.wait_for_selector("button[name=decision][value=allow]")
    phone.click("button[name=decision][value=allow]")
    wait_until(lambda: landed)
    code_given = parse_qs(urlsplit(landed[0]).query)["code"][0]
    token = httpx.post(
        f"{server}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code_given,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(rp.client_id, rp.client_secret),
    ).json()
    jwks = KeySet.import_key_set(httpx.get(f"{server}/oauth2/jwks").json())
    assert jwt.decode(token["id_token"], jwks, algorithms=["ES256"]).claims["amr"] == [
        "hwk",
        "user",
    ]
    assert httpx.get(
        f"{server}/oauth2/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).is_success
    # The holder, signed in to the app by the same browser session, sees the bank in the history.
    phone.goto(f"{server}/app")
    history = phone.evaluate("async () => (await fetch('/api/v1/me/access-history')).json()")
    assert [h["client_name"] for h in history] == ["Example Bank"]
