"""The officer's counter (/console) and the supervisor's reviews (/reviews) driven with the
keyboard alone, in headless Chromium: every step after the sign-in is Tab, Shift+Tab, Enter,
Space, the arrow keys or typing, each focus stop has a visible focus ring, a refused action puts
the focus on what to correct (or announces it in a role=alert box and keeps the focus), and the
Tab order has no trap."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.procedure.test_counter_browser import _mrz, _status
from tests.procedure.test_review import enrol_face_unlike_file
from tests.support import Peers
from tests.web.axe import axe_scan
from tests.web.browser import watch_csp
from tests.web.keyboard import (
    assert_focus_visible,
    assert_no_trap,
    focused,
    is_focused,
    shot,
    tab_to,
)


def _focus_on(page: Any, selector: str) -> None:
    page.wait_for_function(
        "(s) => !!document.activeElement && document.activeElement.matches(s)", arg=selector
    )
    assert_focus_visible(page)


def _sign_in_by_keyboard(page: Any, live: str, path: str, role: str) -> None:
    """The sign-in form with the keyboard: Tab to the username, type, Tab, type, Tab, type,
    Enter."""
    from tests.procedure.conftest import PASSWORD, new_officer

    name, code = new_officer(role)
    page.goto(f"{live}{path}")
    tab_to(page, "#login [name=username]")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def _select_all_and_type(page: Any, text: str) -> None:
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_an_application_from_mrz_to_submission_by_keyboard_alone(
    sign_in_page: Callable[[str, str], Any],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
    page: Any,
) -> None:
    """MRZ, registry look-up, TK01, phone verification, captures, checks, consent and submission
    with the keyboard only. The one exception is the files for the portrait and the fingers:
    a headless browser has no file dialog to drive, so `set_input_files` chooses them (the file
    inputs themselves are reached by Tab like any control). The finger each capture is for is
    chosen on the hands diagram with the arrow keys."""
    _, sms = peers
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="M72000001",
        name="CHOI MIN SEO",
        nationality="KOR",
        portrait=faces / "df11_deepface_img16.jpg",
        fingers={2: prints / "pyfnprint_013_1.png", 7: prints / "pyfnprint_014_1.png"},
    )
    csp = watch_csp(page)
    page = sign_in_page("/console", "officer")
    # Signed in through the form: the focus is where the work starts, not lost with the form.
    _focus_on(page, "#mrz")

    # The page again as a keyboard user meets it: the skip link first, then the content.
    page.reload()
    page.wait_for_selector("#mrz", state="visible")
    page.keyboard.press("Tab")
    assert is_focused(page, "a.skip")
    assert page.locator("a.skip").bounding_box()["y"] >= 0  # shown when focused
    assert_focus_visible(page)
    shot(page, "console-skip-link")
    page.keyboard.press("Enter")
    assert is_focused(page, "main")
    page.keyboard.press("Tab")
    assert is_focused(page, "#work-q")  # the first control of the content
    # No trap on the page, forwards and backwards.
    assert assert_no_trap(page) > 20
    assert assert_no_trap(page, back=True) > 20

    # 1. The MRZ as a document reader types it: the form fills from it and the registry, and
    # the focus moves on to the first field the registry does not hold.
    tab_to(page, "#mrz")
    shot(page, "console-mrz")
    page.keyboard.type(_mrz(person))
    _focus_on(page, '[name="address"]')
    assert page.input_value('[name="full_name"]') == "CHOI MIN SEO"
    assert page.input_value('[name="residence_card.number"]') != ""

    # 2. TK01, with a mobile number refused first: the focus goes to the field, marked.
    page.keyboard.type("7 Trang Thi, Hoan Kiem, Ha Noi")
    tab_to(page, '[name="phone"]')
    page.keyboard.type("12")
    page.keyboard.press("Enter")  # submits the form
    _focus_on(page, '[name="phone"][aria-invalid=true]')
    note = page.get_attribute('[name="phone"]', "aria-describedby")
    assert note and page.get_attribute(f"#{note.split()[-1]}", "role") == "alert"
    shot(page, "console-field-error")
    _select_all_and_type(page, "0912000333")
    page.keyboard.press("Enter")
    _status(page, "draft")
    # The button pressed is hidden with the form: the application's heading has the focus.
    _focus_on(page, "#app-title")
    shot(page, "console-application")
    assert assert_no_trap(page) > 15

    # 3. The phone: a code by SMS; a wrong code is refused (announced, the code field focused).
    seen = len(sms.messages)
    tab_to(page, "#send-code")
    page.keyboard.press("Enter")
    # (in the applicant's language, Korean here: any message with a 6-digit code)
    message = sms.inbox.wait_for(lambda m: re.search(r"\b\d{6}\b", m["text"]), after=seen)
    code = re.search(r"\b(\d{6})\b", message["text"])
    assert code is not None
    page.keyboard.press("Tab")
    assert is_focused(page, "#code")
    page.keyboard.type("000000" if code.group(1) != "000000" else "111111")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#check-error').textContent !== ''")
    assert page.get_attribute("#check-error", "role") == "alert"
    _focus_on(page, "#code[aria-invalid=true]")
    _select_all_and_type(page, code.group(1))
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.wait_for_function(
        "() => document.querySelector('#status').dataset.phoneVerified === 'yes'"
    )

    # 4. Captures. The files are chosen with set_input_files (no file dialog when headless).
    tab_to(page, "#portrait")
    page.set_input_files("#portrait", str(faces / "df11_deepface_img17.jpg"))
    page.wait_for_function("() => document.querySelector('#quality').dataset.kind === 'portrait'")
    # The hands diagram: one tab stop, the chosen finger (the right index, 2, first).
    tab_to(page, "#hands [data-finger]")
    assert is_focused(page, '#hands [data-finger="2"][aria-checked=true]')
    shot(page, "console-hands-focus")
    page.keyboard.press("ArrowLeft")  # the left thumb, 1, beside it
    assert is_focused(page, '#hands [data-finger="1"]')
    assert page.input_value("#finger-pos") == "1"
    page.keyboard.press("ArrowRight")
    assert page.input_value("#finger-pos") == "2"
    assert page.get_attribute('#hands [data-finger="2"]', "aria-checked") == "true"
    assert page.get_attribute('#hands [data-finger="1"]', "aria-checked") == "false"
    assert_focus_visible(page)
    page.set_input_files("#finger", str(prints / "pyfnprint_013_2.png"))
    page.wait_for_function(
        "() => document.querySelector('#quality').dataset.kind === 'fingerprint-2'"
    )
    # The next finger moved on by itself (7); the officer checks it on the diagram by keyboard:
    # Home is the left little finger (10), then along the hand to the left index (7).
    page.wait_for_function("() => document.querySelector('#finger-pos').value === '7'")
    tab_to(page, "#hands [data-finger]", back=True)
    assert is_focused(page, '#hands [data-finger="7"]')
    page.keyboard.press("Home")
    assert page.input_value("#finger-pos") == "10"
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    assert page.input_value("#finger-pos") == "7"
    assert is_focused(page, '#hands [data-finger="7"][aria-checked=true]')
    page.set_input_files("#finger", str(prints / "pyfnprint_014_2.png"))
    _status(page, "captured")

    # 5. A refused action keeps the focus and is announced: submitting before the checks.
    tab_to(page, "#submit")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#submit-error').textContent !== ''")
    assert page.get_attribute("#submit-error", "role") == "alert"
    assert is_focused(page, "#submit")
    assert_focus_visible(page)
    shot(page, "console-refused-submit")

    # 6. The checks.
    tab_to(page, "#verify", back=True)
    page.keyboard.press("Enter")
    _status(page, "verified")
    page.wait_for_selector("#consent-text p")
    assert focused(page)["key"] is not None  # still on the button, not lost
    assert_focus_visible(page)

    # 7. Consent (the applicant gives it), then submission.
    tab_to(page, "#consent-by")
    tab_to(page, "#consent")
    page.keyboard.press("Enter")
    _status(page, "consented")
    page.keyboard.press("Tab")
    assert is_focused(page, "#submit")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => ['submitted', 'issued'].includes(document.querySelector('#status').dataset.status)",
        timeout=60_000,
    )
    page.wait_for_selector("#receipt-link", state="visible")
    assert page.inner_text("#submit-error") == ""
    # The receipt, opened from its link by keyboard.
    tab_to(page, "#receipt-link")
    shot(page, "console-receipt-link")
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    receipt = opened.value
    receipt.wait_for_load_state()
    assert receipt.inner_text("#receipt-app-id") == page.inner_text("#app-id")
    receipt.close()
    assert assert_no_trap(page) > 15
    blocking = axe_scan(page)
    assert not blocking, "\n".join(map(str, blocking))
    csp.assert_clean()


def test_cancel_form_opens_and_closes_by_keyboard_with_the_focus_kept(
    sign_in_page: Callable[[str, str], Any],
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    page: Any,
) -> None:
    from tests.procedure.conftest import tk01

    person = registry_person(number="M72000002", name="LEE HA NA")
    officer = make_officer("officer")
    created = officer.post("/api/v1/applications", json=tk01(person))
    assert created.status_code == 201, created.text
    page = sign_in_page("/console", "officer")
    page.wait_for_selector("#work-list tr")
    cancel = f"#work-list tr[data-application='{created.json()['id']}'] button:nth-of-type(2)"
    tab_to(page, cancel)
    page.keyboard.press("Enter")
    _focus_on(page, "#cancel-reason")
    page.keyboard.press("Escape")  # closes it, the focus back on the button that opened it
    assert page.is_hidden("#cancel-box")
    _focus_on(page, cancel)
    page.keyboard.press("Enter")
    _focus_on(page, "#cancel-reason")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert is_focused(page, "#cancel-back")
    page.keyboard.press("Enter")
    _focus_on(page, cancel)


def test_supervisor_approves_and_rejects_held_applications_by_keyboard(
    live: str,
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    page: Any,
) -> None:
    officer = make_officer("officer")
    people = (("Q72000001", "ORTIZ LUIS"), ("Q72000002", "NGUYEN THI AN"))
    held = [
        enrol_face_unlike_file(officer, registry_person, shared_data, number, name)
        for number, name in people
    ]
    assert [h["status"] for h in held] == ["in_review", "in_review"]
    csp = watch_csp(page)
    _sign_in_by_keyboard(page, live, "/reviews", "supervisor")
    page.wait_for_selector("section.review")
    # Signed in: the focus on the first review's heading, not lost with the sign-in form.
    _focus_on(page, "main h2")
    assert assert_no_trap(page) > 5

    for decision, (number, name) in zip(("approve", "reject"), people, strict=True):
        side = "[data-side=application] tr[data-field=passport_number]"
        found = page.locator("section.review").filter(has=page.locator(side, has_text=number))
        review = f"section.review[data-id='{found.get_attribute('data-id')}']"
        note = f"{review} textarea[name=note]"
        button = f"{review} button[value={decision}]"
        # Without a note the decision is refused: the browser focuses the note.
        tab_to(page, button)
        page.keyboard.press("Enter")
        _focus_on(page, note)
        shot(page, f"reviews-note-{decision}")
        page.keyboard.type(f"{name}: passport and photo checked at the counter")
        tab_to(page, button)
        shot(page, f"reviews-{decision}-focus")
        page.keyboard.press("Enter")
        # The form is gone with the decision: its outcome has the focus (and is announced).
        _focus_on(page, "p.decided[role=status]")
        assert name in page.inner_text("p.decided:focus")
        assert page.inner_text("#error") == ""

    statuses = [officer.get(f"/api/v1/applications/{h['id']}").json()["status"] for h in held]
    assert statuses[1] == "rejected" and statuses[0] in ("verified", "consented")
    csp.assert_clean()
