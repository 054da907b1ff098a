"""The supervision pages driven with the keyboard alone, in headless Chromium: the agency locks
(/locks: an officer records a request, a supervisor approves it, an officer records the
lifting). After the sign-in every step is Tab, Shift+Tab, Enter, arrow keys or typing; each stop
has a visible focus ring, the skip link leads to the content, the Tab order has no trap, a
refused action puts the focus on the field concerned (or announces it in role=alert), and after
each action the focus is where the work continues."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from eid.authority.models import Account
from eid.core.database import unit_of_work
from tests.procedure.test_keyboard_browser import _focus_on, _sign_in_by_keyboard
from tests.procedure.test_supervision_browser import _active_account
from tests.web.browser import watch_csp
from tests.web.keyboard import assert_focus_visible, assert_no_trap, is_focused, shot, tab_to


def _skip_link_leads_to(page: Any, first: str) -> None:
    """From the top of the page: Tab shows the skip link, Enter moves to the content, Tab
    reaches `first`, the content's first control."""
    page.keyboard.press("Tab")
    assert is_focused(page, "a.skip")
    assert page.locator("a.skip").bounding_box()["y"] >= 0  # shown when focused
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    assert is_focused(page, "main")
    page.keyboard.press("Tab")
    assert is_focused(page, first), first


def test_agency_lock_recorded_approved_and_lifted_by_keyboard_alone(
    registry_person: Callable[..., dict[str, Any]], live: str, page: Any
) -> None:
    from eid.registry.service import ReferenceRegistry

    person = registry_person(number="P72000011", name="PARK SOO AH")
    with unit_of_work() as session:
        record = ReferenceRegistry(session).find_by_passport(person["passport"]["number"])
        assert record is not None
        ref = record.person_ref
    eid_number = _active_account(ref)
    csp = watch_csp(page)

    # An officer signs in with the keyboard: the focus is on the page's first heading.
    _sign_in_by_keyboard(page, live, "/locks", "officer")
    page.wait_for_selector("#lock-form", state="visible")
    _focus_on(page, "main h2")
    page.reload()
    page.wait_for_selector("#lock-form", state="visible")
    _skip_link_leads_to(page, "#lock-form [name=eid_number]")
    assert assert_no_trap(page) > 8
    assert assert_no_trap(page, back=True) > 8

    # Recording with a field missing is refused by the form: the focus on the field concerned.
    form = "#lock-form"
    tab_to(page, f"{form} [name=eid_number]")
    page.keyboard.type(eid_number)
    tab_to(page, f"{form} button")
    page.keyboard.press("Enter")
    _focus_on(page, f"{form} [name=agency]")
    page.keyboard.type("Công an TP Hà Nội, PC03")
    page.keyboard.press("Tab")
    page.keyboard.type("123/QĐ-PC03")
    page.keyboard.press("Tab")
    page.keyboard.type("decision received by post on the day")
    tab_to(page, f"{form} button")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"article.lock[data-eid='{eid_number}'][data-status=requested]")
    assert eid_number in page.inner_text("#recorded[role=status]")
    assert page.inner_text("#error") == ""
    assert_focus_visible(page)  # the focus stays on the form, ready for the next request
    # An unknown e-ID number is refused by the server: announced in the role=alert box.
    tab_to(page, f"{form} [name=eid_number]", back=True)
    page.keyboard.type("000000000000")
    page.keyboard.press("Tab")
    for value in ("Công an TP Hà Nội", "124/QĐ-PC03", "a second decision"):
        page.keyboard.press("Tab")
        page.keyboard.type(value)
    tab_to(page, f"{form} button")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('error').textContent !== ''")
    assert page.locator("#error").get_attribute("role") == "alert"
    assert_focus_visible(page)
    shot(page, "locks-refused")

    # Signing out by keyboard; a supervisor approves: without a note the browser focuses it.
    tab_to(page, "#sign-out", back=True)
    page.keyboard.press("Enter")
    page.wait_for_selector("#login", state="visible")
    _sign_in_by_keyboard(page, live, "/locks", "supervisor")
    lock = f"article.lock[data-eid='{eid_number}']"
    page.wait_for_selector(f"{lock} .decide", state="visible")
    note, approve = f"{lock} .decide textarea", f"{lock} .decide button[value=approve]"
    tab_to(page, approve)
    page.keyboard.press("Enter")
    _focus_on(page, note)
    page.keyboard.type("decision 123/QĐ-PC03 checked with the agency")
    tab_to(page, approve)
    shot(page, "locks-approve-focus")
    page.keyboard.press("Enter")
    # The form is gone with the decision: its outcome has the focus (and is announced).
    _focus_on(page, "#decided[role=status]")
    assert eid_number in page.inner_text("#decided")
    page.wait_for_selector(f"{lock}[data-status=active]")
    assert assert_no_trap(page) > 8

    # The lifting: the agency's document, a note, Enter; the outcome has the focus.
    tab_to(page, f"{lock} .lift [name=reference]")
    page.keyboard.type("130/QĐ-PC03")
    page.keyboard.press("Tab")
    page.keyboard.type("the agency lifted its decision")
    page.keyboard.press("Tab")
    assert is_focused(page, f"{lock} .lift button")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#closed tr[data-status=lifted] >> text={eid_number}")
    _focus_on(page, "#decided[role=status]")
    shot(page, "locks-lifted")
    with unit_of_work() as session:
        account = session.execute(
            select(Account).where(Account.eid_number == eid_number)
        ).scalar_one()
        assert account.status == "active" and account.lock_grounds == []
    csp.assert_clean()


def test_profile_searched_with_a_reason_and_opened_by_keyboard_alone(
    registry_person: Callable[..., dict[str, Any]], live: str, page: Any
) -> None:
    person = registry_person(number="P72000012", name="KIM JI WOO")
    csp = watch_csp(page)
    _sign_in_by_keyboard(page, live, "/profiles", "supervisor")
    page.wait_for_selector("#search", state="visible")
    _focus_on(page, "main h2")
    page.reload()
    page.wait_for_selector("#search", state="visible")
    _skip_link_leads_to(page, "#search [name=by]")
    assert assert_no_trap(page) > 5
    assert assert_no_trap(page, back=True) > 5

    # Searching without what to search for, then without a reason: each refused with the focus
    # on the field concerned (the browser's own check of the required fields).
    form = "#search"
    tab_to(page, f"{form} button")
    page.keyboard.press("Enter")
    _focus_on(page, f"{form} [name=query]")
    page.keyboard.type(person["passport"]["number"])
    tab_to(page, f"{form} button")
    page.keyboard.press("Enter")
    _focus_on(page, f"{form} [name=purpose]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # a request from a competent authority
    assert page.locator(f"{form} [name=purpose]").input_value() == "agency_request"
    page.keyboard.press("Tab")
    page.keyboard.type("file 124/QĐ-PC03")
    page.keyboard.press("Enter")
    # The one person found is opened: the focus on the profile's heading, the person's name.
    page.wait_for_selector("#profile", state="visible")
    _focus_on(page, "#profile-name")
    assert page.inner_text("#profile-name") == "KIM JI WOO"
    shot(page, "profile-opened")
    assert assert_no_trap(page) > 5

    # Nobody found: announced (role=status), the focus kept on the form.
    tab_to(page, f"{form} [name=query]", back=True)
    page.keyboard.press("Control+A")
    page.keyboard.type("X99999999")
    tab_to(page, f"{form} button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#none[role=status]", state="visible")
    assert is_focused(page, f"{form} button")
    assert_focus_visible(page)
    csp.assert_clean()


def test_dashboard_filtered_and_exported_by_keyboard_alone(live: str, page: Any) -> None:
    csp = watch_csp(page)
    _sign_in_by_keyboard(page, live, "/dashboard", "admin")
    page.wait_for_selector("#chart-days[data-loaded=yes]")
    page.reload()
    page.wait_for_selector("#chart-days[data-loaded=yes]")
    _skip_link_leads_to(page, "#filters [name=office]")
    # The date inputs count as one element of several stops; the charts are not stops (images
    # with names, read by a screen reader), the CSV link is one.
    assert assert_no_trap(page) > 5
    assert assert_no_trap(page, back=True) > 5
    assert page.locator("figure.chart svg[role=img]").count() == 5
    for caption in page.locator("figure.chart figcaption").all_inner_texts():
        assert caption.strip()
        assert page.get_by_role("img", name=caption.strip(), exact=True).count() == 1, caption

    # Filtering by office: typed, Enter; the new period is announced, the focus kept.
    tab_to(page, "#filters [name=office]")
    page.keyboard.type("HN-01")
    tab_to(page, "#filters button")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('period').textContent.includes('HN-01')")
    assert page.locator("#period").get_attribute("role") == "status"
    assert is_focused(page, "#filters button")
    assert_focus_visible(page)
    tab_to(page, "#csv")
    assert "office=HN-01" in (page.locator("#csv").get_attribute("href") or "")
    shot(page, "dashboard-csv")
    csp.assert_clean()


def test_counter_camera_opened_taken_retaken_used_by_keyboard_alone(
    live: str,
    registry_person: Callable[..., dict[str, Any]],
    make_officer: Callable[..., Any],
    shared_data: Path,
    tmp_path: Path,
) -> None:
    """Chromium's fake camera (as in test_counter_browser): open, take, retake, take, use with
    Enter; Escape closes the camera; the focus always on the next step's button, and back on
    the opener when the camera closes."""
    from playwright.sync_api import sync_playwright

    from tests.procedure.conftest import tk01
    from tests.procedure.test_counter_browser import _status, _y4m, camera_browser

    faces = shared_data / "faces"
    person = registry_person(
        number="M72000013", name="LEE HA NA", portrait=faces / "df11_deepface_img16.jpg"
    )
    created = make_officer("officer").post("/api/v1/applications", json=tk01(person))
    assert created.status_code == 201, created.text
    stream = tmp_path / "face.y4m"
    _y4m(faces / "df11_deepface_img17.jpg", stream)
    with sync_playwright() as p:
        browser = camera_browser(p, stream)
        page = browser.new_context(locale="en-GB").new_page()
        csp = watch_csp(page)
        _sign_in_by_keyboard(page, live, f"/console?application={created.json()['id']}", "officer")
        _status(page, "draft")
        # Opened by keyboard: the focus on "take the photo".
        tab_to(page, "#camera-start")
        page.keyboard.press("Enter")
        _focus_on(page, "#camera-shoot")
        page.wait_for_function("() => document.querySelector('#camera-video').currentTime > 0.3")
        # Escape closes the camera: the focus back on its opener.
        page.keyboard.press("Escape")
        page.wait_for_selector("#camera-box", state="hidden")
        _focus_on(page, "#camera-start")
        page.keyboard.press("Enter")
        _focus_on(page, "#camera-shoot")
        page.wait_for_function("() => document.querySelector('#camera-video').currentTime > 0.3")
        page.keyboard.press("Enter")  # taken: the focus on "use this photo"
        _focus_on(page, "#camera-use")
        tab_to(page, "#camera-retake", back=True)
        page.keyboard.press("Enter")  # the live preview again: the focus on "take"
        _focus_on(page, "#camera-shoot")
        page.keyboard.press("Enter")
        _focus_on(page, "#camera-use")
        shot(page, "counter-camera")
        assert assert_no_trap(page) > 10
        tab_to(page, "#camera-use")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-capture=portrait-0][data-done=yes]")
        assert page.is_hidden("#camera-box")
        assert_focus_visible(page)  # not lost with the closed camera
        csp.assert_clean()
        browser.close()
