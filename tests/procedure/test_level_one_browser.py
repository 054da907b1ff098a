"""Level-1 registration in the app, in Chromium at a phone's size: from the start page to
"sent", the SMS code read from the local gateway, every error in the holder's language naming
the field to fix, axe-core's verdict on the page, and a screenshot."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eid.enrolment.consent import LEVEL1_VERSION, TEXTS
from eid.i18n import SUPPORTED, gettext
from tests.procedure.level_one import mrz_lines
from tests.support import Peers
from tests.web.axe import PHONE, axe_scan, screenshot
from tests.web.browser import watch_csp


def _pages(lang: str, text: str) -> str:
    return gettext(lang, text, domain="pages")


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
    page.set_viewport_size(PHONE)
    csp = watch_csp(page)
    page.goto(f"{live}/app?lang={lang}")
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
    # A wrong check digit in the MRZ: refused, in Korean, naming the line to fix.
    wrong = line2[:9] + str((int(line2[9]) + 1) % 10) + line2[10:]
    page.fill("#mrz2", wrong)
    page.click("#details-form button[type=submit]")
    error = page.locator("#app-error")
    label = _pages(lang, "Machine-readable zone, line 2")
    error.filter(has_text=label).wait_for()
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
    assert "1등급" in page.locator("#consent-text").inner_text()  # the Level-1 text, in Korean
    page.check("#agree")
    page.click("#consent-form button[type=submit]")

    page.locator("#step-selfie").wait_for(state="visible")
    assert page.get_attribute("#selfie", "capture") == "user"
    page.set_input_files("#selfie", str(faces / "df04_deepface_img30.jpg"))
    page.click("#selfie-form button[type=submit]")

    page.locator("#step-submit").wait_for(state="visible")
    page.click("#send")
    page.locator("#step-status").wait_for(state="visible")
    page.wait_for_function(
        "() => ['submitted', 'issued'].includes(document.getElementById('register')"
        ".dataset.status)",
        timeout=60000,
    )
    status = page.locator("#status-text").inner_text()
    assert status in (
        _pages(lang, "Sent to the e-ID authority"),
        _pages(lang, "Account created"),
    )
    assert page.locator("#deadline").inner_text().strip()  # the legal deadline, in words
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_scan(page) == []
    screenshot(page, "app-register-sent-ko")
    csp.assert_clean()


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
