"""Issue 10 (a), the whole way a foreign resident goes alone, in Chromium at a phone's size with
Chromium's virtual authenticator: Level-1 registration from the start page (SMS code read from
the local gateway), the account issued by the worker, activation with a passkey, the used
activation code gone from the inbox, sign-out and sign-in with the passkey, the card and its QR
(decoded from the screen as a phone camera would, then opened), lock and unlock."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eid.i18n import gettext
from eid.identity.service import ACR_LEVEL1
from tests.identity.factories import PASSCODE, PASSWORD
from tests.procedure.test_level_one_browser import register_in_the_app
from tests.support import Peers, decode_qr
from tests.web.axe import axe_scan, screenshot
from tests.web.browser import add_virtual_authenticator, watch_csp


def _t(lang: str, text: str) -> str:
    return gettext(lang, text, domain="pages")


def _at(path: str) -> Callable[[str], bool]:
    return lambda url: urlsplit(url).path == path


def _current(page: Any) -> dict[str, Any]:
    body: dict[str, Any] = page.evaluate(
        "async () => (await fetch('/api/v1/identity/sessions/current')).json()"
    )
    return body


def test_a_resident_registers_activates_shows_the_card_and_locks_it_alone(
    live_localhost: str,
    page: Any,
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    _, sms = peers
    server, lang = live_localhost, "zh"
    faces = shared_data / "faces"
    person = registry_person(number="C14141414", portrait=faces / "df00_deepface_img1.jpg")
    add_virtual_authenticator(page)
    csp = watch_csp(page)

    # Registration, from the start page: the worker checks it and issues a Level-1 account.
    register_in_the_app(page, server, person, faces / "df00_deepface_img2.jpg", sms, lang)
    page.wait_for_function(
        "() => document.getElementById('register').dataset.status === 'issued'", timeout=90000
    )
    number = page.locator("#eid-number").inner_text().strip()
    issued = sms.inbox.wait_for(lambda m: number in m["text"])["text"]
    code = re.search(r"\b(\d{8})\b", issued)
    assert code is not None
    screenshot(page, "journey-1-issued-zh")

    # Activation with the code from the SMS, a password, a passcode and a passkey.
    page.click("#activate-link a")
    page.wait_for_url(lambda url: "/app/activate" in url)
    page.get_by_label(_t(lang, "e-ID number")).fill(number)
    page.get_by_label(_t(lang, "Activation code")).fill(code[1])
    page.get_by_label(_t(lang, "New password")).fill(PASSWORD)
    page.get_by_label(_t(lang, "New passcode")).fill(PASSCODE)
    page.get_by_role("button", name=_t(lang, "Activate and create a passkey")).click()
    page.wait_for_url(_at("/app/home"))
    current = _current(page)
    assert (current["eid_number"], current["acr"]) == (number, ACR_LEVEL1)

    # The inbox keeps the message, with the used activation code masked.
    page.goto(f"{server}/app/inbox?lang={lang}")
    inbox = page.locator("main").inner_text()
    assert number in inbox and code[1] not in inbox
    assert axe_scan(page) == []
    screenshot(page, "journey-2-inbox-zh")

    # Sign out, then in again with the passkey alone.
    page.locator("[data-sign-out]").first.click()
    page.wait_for_url(lambda url: "/app/sign-in" in url or urlsplit(url).path == "/app")
    page.goto(f"{server}/app/sign-in?lang={lang}")
    page.get_by_role("button", name=_t(lang, "Sign in with a passkey")).click()
    page.wait_for_url(_at("/app/home"))
    assert _current(page)["amr"] == ["hwk", "user"]

    # The card and its QR: a phone camera reads the code off the screen and opens the check.
    page.goto(f"{server}/app/card?lang={lang}")
    figure = page.locator(".qr-figure")
    link = figure.get_attribute("data-link")
    assert link is not None and link.startswith(f"{server}/v/")
    assert decode_qr(page.locator(".qr-box").screenshot()) == link
    assert axe_scan(page) == []
    screenshot(page, "journey-3-card-zh")
    checker = page.context.new_page()
    checker.goto(f"{link}?lang={lang}")
    assert _t(lang, "This e-residence card is valid now.") in checker.inner_text("main")
    assert person["full_name"] in checker.inner_text("main")

    # Lock now: the card's check says so at once; unlock with the e-ID number and credentials.
    page.goto(f"{server}/app/lock?lang={lang}")
    page.locator("[data-lock]").click()
    page.locator("[data-lock-confirm]").click()
    page.locator("#unlock-form").wait_for(state="visible")
    screenshot(page, "journey-4-locked-zh")
    checker.reload()
    assert _t(lang, "This e-residence card is suspended now: do not accept it.") in (
        checker.inner_text("main")
    )
    page.fill("#unlock-eid", number)
    page.fill("#unlock-password", PASSWORD)
    page.fill("#unlock-passcode", PASSCODE)
    page.locator("#unlock-form button[type=submit]").click()
    page.locator("#unlock-next").wait_for(state="visible")
    checker.reload()
    assert _t(lang, "This e-residence card is valid now.") in checker.inner_text("main")
    screenshot(page, "journey-5-unlocked-zh")
    csp.assert_clean()
