"""The holder app's status page with a real application: a TK01 application issued by the
officer procedure, the account activated, and /app/status in Chromium showing it with its
legal deadline and dates in the holder's language (Korean, from TK01), axe clean."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from eid.core import clock
from eid.i18n import format_date, gettext
from tests.holder_app.conftest import sign_in_browser
from tests.procedure.conftest import status_in, tk01
from tests.procedure.test_end_to_end import CONSENT, _capture
from tests.procedure.test_holder_view import _activate
from tests.support import Peers, code_in
from tests.web.axe import PHONE, axe_scan, screenshot
from tests.web.browser import watch_csp


def _pages(lang: str, text: str) -> str:
    return gettext(lang, text, domain="pages")


def test_an_issued_office_application_on_the_status_page_in_korean(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    live: str,
    peers: Peers,
    page: Any,
) -> None:
    _, sms = peers
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="M23456789",
        portrait=faces / "df02_deepface_img22.jpg",
        fingers={2: prints / "pyfnprint_001_1.png", 7: prints / "pyfnprint_002_1.png"},
    )
    officer = make_officer("officer")
    r = officer.post("/api/v1/applications", json=tk01(person, language="ko"))
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    _capture(
        officer,
        app_id,
        faces / "df02_deepface_img23.jpg",
        {2: prints / "pyfnprint_001_2.png", 7: prints / "pyfnprint_002_2.png"},
    )
    officer.post(f"/api/v1/applications/{app_id}/verification", params={"wait": 15})
    assert status_in(officer, app_id, "verified", "in_review", "rejected")["status"] == "verified"
    # The code goes to the phone in Korean (TK01's language); the applicant reads it out.
    seen = len(sms.messages)
    r = officer.post(f"/api/v1/applications/{app_id}/phone-verification")
    assert r.status_code == 200, r.text
    message = sms.inbox.wait_for(lambda m: re.search(r"\b\d{6}\b", m["text"]), after=seen)
    r = officer.post(
        f"/api/v1/applications/{app_id}/phone-verification/confirmation",
        json={"code": code_in(message["text"])},
    )
    assert r.status_code == 200 and r.json()["phone_verified"] is True, r.text
    r = officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": CONSENT, "language": "ko"},
    )
    assert r.status_code == 200, r.text
    submitted = officer.post(f"/api/v1/applications/{app_id}/submission").json()
    deadline = dt.date.fromisoformat(submitted["legal_deadline"])
    issued = status_in(officer, app_id, "issued", "rejected")
    assert issued["status"] == "issued", issued
    _activate(live, issued["eid_number"])

    page.set_viewport_size(PHONE)
    sign_in_browser(page, live, SimpleNamespace(eid_number=issued["eid_number"]))
    csp = watch_csp(page)
    # No pick in this browser (it asks for Vietnamese): the account's language, Korean, wins.
    page.goto(f"{live}/app/status")
    assert page.get_attribute("html", "lang") == "ko"
    assert page.locator("h1").inner_text() == _pages("ko", "Your applications")
    [card] = page.locator("main ul.cards > li").all()
    facts = dict(
        zip(
            card.locator("dt").all_inner_texts(),
            card.locator("dd").all_inner_texts(),
            strict=True,
        )
    )
    assert facts[_pages("ko", "Status")] == _pages("ko", "Account issued")
    assert facts[_pages("ko", "Decision due by (legal deadline)")] == format_date(deadline, "ko")
    assert format_date(deadline, "ko") != format_date(deadline, "en")  # e.g. 2026년 12월 3일
    assert facts[_pages("ko", "Submitted on")] == format_date(clock.today_vn(), "ko")
    # Decided today (Viet Nam's date, as the deadline), within the deadline.
    assert facts[_pages("ko", "Decided on")] == format_date(clock.today_vn(), "ko")
    assert _pages("ko", "Decided within the legal deadline.") in card.inner_text()
    assert card.locator("h2").inner_text() == _pages(
        "ko", "Application at an immigration office (Level 2)"
    )
    assert axe_scan(page) == []
    screenshot(page, "app-status-issued-ko")
    csp.assert_clean()
