"""An officer walks the whole procedure in the console page of a real browser (headless
Chromium): sign-in with TOTP, TK01, portrait and fingerprint files, checks, the SMS code read
back, consent, submission, and the e-ID number once issued."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eid.i18n import gettext
from tests.conftest import SHOTS
from tests.support import Peers
from tests.web.browser import assert_session_unreadable, watch_csp


def test_officer_walks_tk01_in_the_console(
    sign_in_page: Callable[[str, str], Any],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
    page: Any,
) -> None:
    _, sms = peers
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="L70000007",
        name="LI WEI",
        nationality="CHN",
        portrait=faces / "df11_deepface_img16.jpg",
        fingers={2: prints / "pyfnprint_013_1.png", 7: prints / "pyfnprint_014_1.png"},
    )
    csp = watch_csp(page)  # the same browser page that sign_in_page drives
    page = sign_in_page("/console", "officer")
    page.wait_for_selector("#tk01", state="visible")
    assert_session_unreadable(page)

    fields = {
        "full_name": person["full_name"],
        "date_of_birth": person["date_of_birth"],
        "nationality": person["nationality"],
        "passport.number": person["passport"]["number"],
        "passport.issuing_state": person["passport"]["issuing_state"],
        "passport.issue_date": person["passport"]["issue_date"],
        "passport.expiry_date": person["passport"]["expiry_date"],
        "residence_card.number": person["residence_card"]["number"],
        "residence_card.expiry_date": person["residence_card"]["expiry_date"],
        "address": "5 Ly Thai To, Hoan Kiem, Ha Noi",
        "phone": "+84916000777",
        "email": "li.wei@example.test",
    }
    for field, value in fields.items():
        page.fill(f'#tk01 [name="{field}"]', value)
    page.click("#tk01 button")
    page.wait_for_selector("#app-box", state="visible")
    assert page.get_attribute("#status", "data-status") == "draft"  # filled before shown

    page.set_input_files("#portrait", str(faces / "df11_deepface_img17.jpg"))
    page.wait_for_function("() => document.querySelector('#quality').dataset.kind === 'portrait'")
    for position, image in (("2", "pyfnprint_013_2.png"), ("7", "pyfnprint_014_2.png")):
        page.select_option("#finger-pos", position)
        page.set_input_files("#finger", str(prints / image))
        page.wait_for_function(
            f"() => document.querySelector('#quality').dataset.kind === 'fingerprint-{position}'"
        )
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'captured'")

    page.click("#verify")
    page.wait_for_function(
        "() => document.querySelector('#status').dataset.status === 'verified'", timeout=60_000
    )
    # The checks read in the officer's language (the browser asks for Vietnamese).
    face = page.locator("#checks tr[data-check=face_1to1] td").first.inner_text()
    assert face == gettext("vi", "Face against the photo on file", domain="pages")

    seen = len(sms.messages)
    page.click("#send-code")
    message = sms.inbox.wait_for(lambda m: m["to"] == "+84916000777", after=seen)
    code = re.search(r"\b(\d{6})\b", message["text"])
    assert code is not None
    page.fill("#code", code.group(1))
    page.click("#confirm-code")
    page.wait_for_function(
        "() => document.querySelector('#status').dataset.phoneVerified === 'yes'"
    )
    page.click("#consent")
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'consented'")
    page.click("#submit")
    page.wait_for_function(
        "() => document.querySelector('#status').dataset.status === 'issued'", timeout=60_000
    )
    assert re.fullmatch(r"\d{12}", page.inner_text("#eid-number"))
    assert page.inner_text("#deadline-date")
    assert page.inner_text("#error") == ""
    csp.assert_clean()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "console.png"), full_page=True)
