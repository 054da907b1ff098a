"""Level-1 registration in the app, in Chromium at a phone's size: from the start page to
"sent", the SMS code read from the local gateway, every error in the holder's language naming
the field to fix, axe-core's verdict on the page, and a screenshot."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from eid.enrolment.consent import LEVEL1_VERSION, TEXTS
from eid.i18n import SUPPORTED, gettext
from eid.identity.service import ACR_LEVEL1, ACR_LEVEL2
from tests.identity.factories import PASSCODE, PASSWORD
from tests.procedure.conftest import status_in
from tests.procedure.level_one import mrz_lines
from tests.procedure.test_level_one import office_application
from tests.support import Peers
from tests.web.axe import PHONE, axe_scan, screenshot
from tests.web.browser import add_virtual_authenticator, watch_csp


def _pages(lang: str, text: str) -> str:
    return gettext(lang, text, domain="pages")


def register_in_the_app(
    page: Any, server: str, person: dict[str, Any], selfie: Path, sms: Any, lang: str
) -> None:
    """From the start page to "sent", as a holder would; a wrong MRZ check digit on the way
    is refused in the holder's language, naming the line to fix."""
    page.set_viewport_size(PHONE)
    page.goto(f"{server}/app?lang={lang}")
    page.click("a[href='/app/register']")
    page.wait_for_url("**/app/register*")
    assert page.locator("h1").inner_text() == _pages(lang, "Register a Level-1 account")
    assert axe_scan(page) == []

    passport = person["passport"]
    line1, line2 = mrz_lines(person)
    fields = {
        "#full_name": person["full_name"],
        "#date_of_birth": person["date_of_birth"],
        "#nationality": person["nationality"],
        "#passport_number": passport["number"],
        "#issuing_state": passport["issuing_state"],
        "#issue_date": passport["issue_date"],
        "#expiry_date": passport["expiry_date"],
        "#mrz1": line1,
        "#card_number": person["residence_card"]["number"],
        "#card_expiry": person["residence_card"]["expiry_date"],
        "#phone": "0912 345 678",
        "#email": "holder@example.test",
    }
    for selector, value in fields.items():
        page.fill(selector, value)
    page.select_option("#sex", person["sex"])
    wrong = line2[:9] + str((int(line2[9]) + 1) % 10) + line2[10:]
    page.fill("#mrz2", wrong)
    page.click("#details-form button[type=submit]")
    error = page.locator("#app-error")
    error.filter(has_text=_pages(lang, "Machine-readable zone, line 2")).wait_for()
    assert page.get_attribute("#mrz2", "aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.id") == "mrz2"
    assert "MRZ" in error.inner_text()

    seen = len(sms.messages)
    page.fill("#mrz2", line2)
    page.click("#details-form button[type=submit]")
    page.locator("#step-phone").wait_for(state="visible")
    message = sms.inbox.wait_for(lambda m: m["to"] == "+84912345678", after=seen)
    code = re.search(r"\b(\d{6})\b", message["text"])
    assert code is not None
    page.fill("#code", code[1])
    page.click("#phone-form button[type=submit]")

    page.locator("#step-consent").wait_for(state="visible")
    level1 = gettext(lang, TEXTS[LEVEL1_VERSION])
    assert level1[:30] in page.locator("#consent-text").inner_text()  # in the page's language
    page.check("#agree")
    page.click("#consent-form button[type=submit]")

    page.locator("#step-selfie").wait_for(state="visible")
    assert page.get_attribute("#selfie", "capture") == "user"
    page.set_input_files("#selfie", str(selfie))
    page.click("#selfie-form button[type=submit]")

    page.locator("#step-submit").wait_for(state="visible")
    page.click("#send")
    page.locator("#step-status").wait_for(state="visible")


def _status(page: Any, *wanted: str) -> str:
    states = ", ".join(f"'{w}'" for w in wanted)
    page.wait_for_function(
        f"() => [{states}].includes(document.getElementById('register').dataset.status)",
        timeout=60000,
    )
    return str(page.locator("#status-text").inner_text())


def test_a_holder_registers_level_1_in_the_app(
    live: str,
    page: Any,
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    _, sms = peers
    lang = "ko"
    faces = shared_data / "faces"
    person = registry_person(number="K12121212", portrait=faces / "df04_deepface_img29.jpg")
    csp = watch_csp(page)
    register_in_the_app(page, live, person, faces / "df04_deepface_img30.jpg", sms, lang)
    status = _status(page, "submitted", "issued")
    assert status in (
        _pages(lang, "Sent to the e-ID authority"),
        _pages(lang, "Account created"),
    )
    assert page.locator("#deadline").inner_text().strip()  # the legal deadline, in words
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_scan(page) == []
    screenshot(page, "app-register-sent-ko")
    csp.assert_clean()


def test_level_1_in_the_app_activated_with_a_passkey_then_upgraded_keeps_the_number(
    live_localhost: str,
    page: Any,
    registry_person: Callable[..., dict[str, Any]],
    make_officer: Callable[..., httpx.Client],
    shared_data: Path,
    peers: Peers,
) -> None:
    """Issue 10 (c): registered in the app, issued by the worker at Level 1, activated with a
    passkey (acr level 1); a TK01 at an office upgrades the account: signing in again with
    the passkey gives Level 2 under the same e-ID number."""
    _, sms = peers
    server, lang = live_localhost, "ko"
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="K13131313",
        portrait=faces / "df04_deepface_img31.jpg",
        fingers={2: prints / "pyfnprint_001_1.png"},
    )
    add_virtual_authenticator(page)
    register_in_the_app(page, server, person, faces / "df04_deepface_img32.jpg", sms, lang)
    assert _status(page, "issued") == _pages(lang, "Account created")
    number = page.locator("#eid-number").inner_text()
    text = sms.inbox.wait_for(lambda m: number in m["text"])["text"]
    code = re.search(r"\b(\d{8})\b", text)
    assert code is not None
    screenshot(page, "app-register-issued-ko")

    page.click("#activate-link a")
    page.wait_for_url("**/app/activate*")
    page.get_by_label(_pages(lang, "e-ID number")).fill(number)
    page.get_by_label(_pages(lang, "Activation code")).fill(code[1])
    page.get_by_label(_pages(lang, "New password")).fill(PASSWORD)
    page.get_by_label(_pages(lang, "New passcode")).fill(PASSCODE)
    page.get_by_role("button", name=_pages(lang, "Activate and create a passkey")).click()
    page.wait_for_url(lambda url: "/app/activate" not in url)
    current = _current(page)
    assert (current["acr"], current["eid_number"]) == (ACR_LEVEL1, number)

    officer = make_officer("officer")
    app_id = office_application(officer, person, faces / "df04_deepface_img33.jpg", prints, sms)
    upgraded = status_in(officer, app_id, "issued", "rejected")
    assert (upgraded["status"], upgraded["eid_number"]) == ("issued", number)

    # The Level-1 session keeps its acr; signing in again with the passkey gives Level 2.
    assert _current(page)["acr"] == ACR_LEVEL1
    page.evaluate(
        "async (csrf) => fetch('/api/v1/identity/sessions/current', {method: 'DELETE',"
        " headers: {'X-CSRF-Token': csrf}})",
        current["csrf_token"],
    )
    page.goto(f"{server}/app/sign-in?lang={lang}&next=/app/device")
    page.get_by_role("button", name=_pages(lang, "Sign in with a passkey")).click()
    page.wait_for_url(lambda url: "/app/device" in url and "sign-in" not in url)
    current = _current(page)
    assert (current["acr"], current["eid_number"]) == (ACR_LEVEL2, number)
    screenshot(page, "app-upgraded-level2-ko")


def _current(page: Any) -> dict[str, Any]:
    body: dict[str, Any] = page.evaluate(
        "async () => (await fetch('/api/v1/identity/sessions/current')).json()"
    )
    return body


@pytest.mark.parametrize("lang", SUPPORTED)
def test_the_registration_page_in_each_language(live: str, page: Any, lang: str) -> None:
    """Its words and the Level-1 consent text in the language picked; labels on every input;
    no serious or critical axe-core finding; nothing wider than the phone."""
    page.set_viewport_size(PHONE)
    csp = watch_csp(page)
    response = page.goto(f"{live}/app/register?lang={lang}")
    assert response is not None and response.status == 200
    assert page.get_attribute("html", "lang") == lang
    assert page.locator("h1").inner_text() == _pages(lang, "Register a Level-1 account")
    # The consent step is hidden until its turn: its text is in the page all the same.
    text = page.evaluate("() => document.getElementById('consent-text').textContent")
    level1 = gettext(lang, TEXTS[LEVEL1_VERSION])
    assert level1[:40] in text
    unlabeled = page.evaluate(
        "() => [...document.querySelectorAll('input, select')]"
        ".filter((el) => !el.labels || el.labels.length === 0).map((el) => el.id)"
    )
    assert unlabeled == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_scan(page) == []
    csp.assert_clean()
