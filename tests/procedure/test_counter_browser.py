"""The counter in a real browser (headless Chromium): a registry person from the MRZ to the
receipt in at most 12 officer actions, a reload mid-application resumed, a typo corrected before
verification, and an application a supervisor approved finished by an officer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from eid.i18n import gettext
from eid.registry.mrz import td3
from tests.conftest import SHOTS
from tests.procedure.conftest import status_in, tk01
from tests.procedure.test_review import enrol_face_unlike_file
from tests.web.axe import axe_scan
from tests.web.browser import watch_csp


class Officer:
    """The page as the officer drives it: every click, fill, key press and file chosen is one
    action, counted."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.actions = 0

    def fill(self, selector: str, value: str) -> None:
        self.actions += 1
        self.page.fill(selector, value)

    def click(self, selector: str) -> None:
        self.actions += 1
        self.page.click(selector)

    def choose_file(self, selector: str, path: Path) -> None:
        self.actions += 1
        self.page.set_input_files(selector, str(path))


def _status(page: Any, status: str, timeout: int = 60_000) -> None:
    page.wait_for_function(
        f"() => document.querySelector('#status').dataset.status === '{status}'", timeout=timeout
    )


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _mrz(person: dict[str, Any]) -> str:
    lines = td3(
        doc_type="P",
        issuing_state=person["passport"]["issuing_state"],
        full_name=person["full_name"],
        number=person["passport"]["number"],
        nationality=person["nationality"],
        date_of_birth=dt.date.fromisoformat(person["date_of_birth"]),
        sex=person["sex"],
        expiry_date=dt.date.fromisoformat(person["passport"]["expiry_date"]),
    )
    return "\n".join(lines)


def camera_browser(p: Any, stream: Path) -> Any:
    """Chromium whose camera plays `stream` (a y4m video) and asks no permission."""
    from tests.conftest import CHROMIUM

    assert CHROMIUM is not None
    return p.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={stream}",
        ],
    )


def test_registry_person_from_mrz_to_receipt_in_twelve_actions(
    sign_in_page: Callable[[str, str], Any],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    page: Any,
) -> None:
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="M71000001",
        name="PARK JI HOON",
        nationality="KOR",
        portrait=faces / "df11_deepface_img16.jpg",
        fingers={2: prints / "pyfnprint_013_1.png", 7: prints / "pyfnprint_014_1.png"},
    )
    csp = watch_csp(page)
    page = sign_in_page("/console", "officer")
    page.wait_for_selector("#mrz", state="visible")
    officer = Officer(page)

    # 1: the document reader types the zone; the form fills from it and from the registry.
    officer.fill("#mrz", _mrz(person))
    page.wait_for_function(
        "() => document.querySelector('[name=\"residence_card.number\"]').value !== ''"
    )
    assert page.input_value('[name="full_name"]') == "PARK JI HOON"
    assert page.input_value('[name="passport.issue_date"]') == person["passport"]["issue_date"]
    assert page.input_value('[name="language"]') == "ko"  # from the nationality, to confirm
    # 2-4: what the registry does not hold, then create. The phone as Vietnamese write it.
    officer.fill('[name="address"]', "5 Ly Thai To, Hoan Kiem, Ha Noi")
    officer.fill('[name="phone"]', "0912000111")
    officer.click("#save-tk01")
    _status(page, "draft")
    assert "application=" in page.url
    _shot(page, "counter-draft")
    # 5-7: portrait and two fingers; the finger position moves on by itself.
    officer.choose_file("#portrait", faces / "df11_deepface_img17.jpg")
    page.wait_for_function("() => document.querySelector('#quality').dataset.kind === 'portrait'")
    officer.choose_file("#finger", prints / "pyfnprint_013_2.png")
    page.wait_for_function(
        "() => document.querySelector('#quality').dataset.kind === 'fingerprint-2'"
    )
    page.wait_for_function("() => document.querySelector('#finger-pos').value === '7'")
    officer.choose_file("#finger", prints / "pyfnprint_014_2.png")
    _status(page, "captured")
    # The hand diagram: both index fingers captured, the right thumb chosen next.
    page.wait_for_function(
        "() => document.querySelector('#hands [data-finger=\"7\"]').dataset.done === 'yes'"
    )
    assert page.get_attribute('#hands [data-finger="2"]', "data-done") == "yes"
    assert page.get_attribute('#hands [data-finger="1"]', "data-done") == "no"
    assert page.get_attribute('#hands [data-finger="1"]', "data-selected") == "yes"
    # 8: the checks.
    officer.click("#verify")
    _status(page, "verified")
    # The consent text is shown in the applicant's language before consent is recorded.
    page.wait_for_selector("#consent-text p")
    assert page.get_attribute("#consent-text", "lang") == "ko"
    _shot(page, "counter-consent")
    # The console mid-application (hands diagram, checks in words, consent text) passes axe too.
    blocking = axe_scan(page)
    assert not blocking, "\n".join(map(str, blocking))
    # 9: the second screen for the applicant (a new tab, in Korean).
    with page.context.expect_page() as opened:
        officer.click("#consent-sheet")
    sheet = opened.value
    sheet.wait_for_load_state()
    assert sheet.evaluate("document.documentElement.lang") == "ko"
    assert sheet.inner_text("#sheet-app-id") == page.inner_text("#app-id")
    _shot(sheet, "counter-consent-sheet")
    blocking = axe_scan(sheet)
    assert not blocking, "\n".join(map(str, blocking))
    sheet.close()
    # 10-11: consent, submission.
    officer.click("#consent")
    _status(page, "consented")
    officer.click("#submit")
    page.wait_for_function(
        "() => ['submitted', 'issued'].includes(document.querySelector('#status').dataset.status)",
        timeout=60_000,
    )
    page.wait_for_selector("#receipt-link", state="visible")
    # 12: the receipt, with what was captured and the legal deadline in Korean.
    with page.context.expect_page() as opened:
        officer.click("#receipt-link")
    receipt = opened.value
    receipt.wait_for_load_state()
    assert receipt.evaluate("document.documentElement.lang") == "ko"
    assert receipt.inner_text("#receipt-app-id") == page.inner_text("#app-id")
    assert len(receipt.locator("#receipt-captured li").all()) == 3
    assert re.search(r"\d{4}년 \d{1,2}월 \d{1,2}일", receipt.inner_text("#receipt-deadline"))
    _shot(receipt, "counter-receipt")
    blocking = axe_scan(receipt)
    assert not blocking, "\n".join(map(str, blocking))
    receipt.close()

    assert officer.actions <= 12, officer.actions
    assert page.inner_text("#error") == ""
    assert page.inner_text("#submit-error") == ""
    _status(page, "issued")
    _shot(page, "counter-issued")
    csp.assert_clean()

    # Next applicant: nothing of this one stays on the page.
    page.click("#next")
    page.wait_for_selector("#mrz", state="visible")
    assert "application=" not in page.url
    assert page.input_value('[name="full_name"]') == ""
    assert page.input_value('[name="phone"]') == ""
    blocking = axe_scan(page)
    assert not blocking, "\n".join(map(str, blocking))


def test_reload_resume_and_correct_a_typo_before_verification(
    sign_in_page: Callable[[str, str], Any],
    registry_person: Callable[..., dict[str, Any]],
    page: Any,
) -> None:
    person = registry_person(number="M71000002", name="TANAKA YUKI", nationality="JPN")
    page = sign_in_page("/console", "officer")
    page.wait_for_selector("#mrz", state="visible")
    page.fill("#mrz", _mrz(person))
    page.wait_for_function(
        "() => document.querySelector('[name=\"residence_card.number\"]').value !== ''"
    )
    # A typo in the name, and a phone refused beside its field (in the officer's language).
    page.fill('[name="full_name"]', "TANAKA YUKO")
    page.fill('[name="address"]', "9 Hang Bai, Hoan Kiem, Ha Noi")
    page.fill('[name="phone"]', "12")
    page.fill('[name="nationality"]', "jpn")  # any case
    page.click("#save-tk01")
    page.wait_for_selector('[name="phone"][aria-invalid=true]')
    note = page.get_attribute('[name="phone"]', "aria-describedby")
    assert note and page.inner_text(f"#{note.split()[-1]}")
    _shot(page, "counter-field-error")
    page.fill('[name="phone"]', "+84912000222")
    page.click("#save-tk01")
    _status(page, "draft")
    assert page.locator(".field-error").count() == 0  # the stale error is gone
    app_id = page.inner_text("#app-id")

    # Reload mid-application: the same application, where it stopped.
    page.reload()
    _status(page, "draft")
    assert page.inner_text("#app-id") == app_id
    assert page.inner_text("#app-name") == "TANAKA YUKO"

    # The work list finds it by passport, and resumes it.
    page.click("#next")
    page.wait_for_selector("#work-list")
    page.fill("#work-q", "M71000002")
    page.click("#work-search button")
    row = page.locator(f"#work-list tr[data-application='{app_id}']")
    row.wait_for()
    assert page.locator("#work-list tr").count() == 1
    blocking = axe_scan(page)
    assert not blocking, "\n".join(map(str, blocking))
    _shot(page, "counter-work-list")
    row.locator("button").first.click()
    _status(page, "draft")

    # A finger is chosen on the hand diagram, by mouse or by keyboard.
    page.click('#hands [data-finger="8"]')
    assert page.input_value("#finger-pos") == "8"
    page.focus('#hands [data-finger="4"]')
    page.keyboard.press("Enter")
    assert page.input_value("#finger-pos") == "4"
    assert page.get_attribute('#hands [data-finger="4"]', "data-selected") == "yes"
    _shot(page, "counter-hands")

    # The typo corrected before verification; the correction is kept with the old value.
    page.click("#edit")
    page.fill('[name="full_name"]', "TANAKA YUKI")
    page.click("#save-tk01")
    page.wait_for_function(
        "() => document.querySelector('#app-name').textContent === 'TANAKA YUKI'"
    )
    assert "full_name" in page.inner_text("#quality")


def test_supervisor_approved_application_is_finished_by_an_officer(
    sign_in_page: Callable[[str, str], Any],
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    page: Any,
) -> None:
    officer = make_officer("officer")
    supervisor = make_officer("supervisor")
    # The live face does not match the photo on file: held for a supervisor, who approves.
    held = enrol_face_unlike_file(
        officer, registry_person, shared_data, "M71000003", "SANTOS MARIA"
    )
    assert held["status"] == "in_review"
    app_id = held["id"]
    review = next(
        x for x in supervisor.get("/api/v1/reviews").json() if x["application"]["id"] == app_id
    )
    decided = supervisor.post(
        f"/api/v1/reviews/{review['id']}/decision",
        json={"decision": "approve", "note": "old photo on file; passport checked"},
    )
    assert decided.status_code == 200, decided.text
    assert status_in(officer, app_id, "verified")["status"] == "verified"

    page = sign_in_page("/console", "officer")
    page.wait_for_selector("#work-list tr")
    row = page.locator(f"#work-list tr[data-application='{app_id}']")
    assert row.get_attribute("data-status") == "verified"
    row.locator("button").first.click()
    _status(page, "verified")
    # Why the face held it, as the officer reads it: in the page's language (Vietnamese).
    face = page.locator("#checks tr[data-check=face_1to1] td").nth(2).inner_text()
    assert face == gettext("vi", "the face does not match the portrait on file")
    assert face == "khuôn mặt không khớp với ảnh lưu trữ"
    page.wait_for_selector("#consent-text p")
    page.click("#consent")
    _status(page, "consented")
    page.click("#submit")
    _status(page, "issued")
    assert re.fullmatch(r"\d{12}", page.inner_text("#eid-number"))


def _y4m(photo: Path, out: Path) -> None:
    """The photo as a few frames of uncompressed video (YUV 4:2:0), as a camera would send."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(photo.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    height, width = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    frame = cv2.cvtColor(image[:height, :width], cv2.COLOR_BGR2YUV_I420).tobytes()
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    out.write_bytes(header + b"".join(b"FRAME\n" + frame for _ in range(10)))


def test_portrait_from_the_camera_with_preview_and_retake(
    live: str,
    registry_person: Callable[..., dict[str, Any]],
    make_officer: Callable[..., httpx.Client],
    shared_data: Path,
    tmp_path: Path,
) -> None:
    """Chromium's fake camera plays a photo of the applicant (a Y4M stream of that photo)."""
    from playwright.sync_api import sync_playwright

    from tests.procedure.conftest import PASSWORD, new_officer

    faces = shared_data / "faces"
    person = registry_person(
        number="M71000004", name="KIM SO RA", portrait=faces / "df11_deepface_img16.jpg"
    )
    officer = make_officer("officer")
    created = officer.post("/api/v1/applications", json=tk01(person))
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    stream = tmp_path / "face.y4m"
    _y4m(faces / "df11_deepface_img17.jpg", stream)
    name, code = new_officer("officer")
    with sync_playwright() as p:
        browser = camera_browser(p, stream)
        page = browser.new_context(locale="en-GB").new_page()
        csp = watch_csp(page)
        page.goto(f"{live}/console?application={app_id}")
        page.fill("#login [name=username]", name)
        page.fill("#login [name=password]", PASSWORD)
        page.fill("#login [name=totp]", code)
        page.click("#login button")
        _status(page, "draft")
        page.click("#camera-start")
        page.wait_for_function("() => document.querySelector('#camera-video').currentTime > 0.3")
        page.click("#camera-shoot")
        page.wait_for_selector("#camera-still", state="visible")
        page.click("#camera-retake")  # not good enough: the live preview again
        page.wait_for_selector("#camera-video", state="visible")
        page.click("#camera-shoot")
        _shot(page, "counter-camera")
        page.click("#camera-use")
        page.wait_for_function(
            "() => document.querySelector('#quality').dataset.kind === 'portrait'"
        )
        assert page.is_hidden("#camera-box")
        page.wait_for_selector("[data-capture=portrait-0][data-done=yes]")
        # A second portrait replaces the first only if the officer says so (here: not).
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.click("#camera-start")
        page.click("#camera-shoot")
        page.click("#camera-use")
        page.wait_for_timeout(300)
        assert page.is_visible("#camera-box")  # declined: nothing sent, the camera still open
        csp.assert_clean()
        browser.close()
    captures = officer.get(f"/api/v1/applications/{app_id}").json()["captures"]
    assert [c["kind"] for c in captures] == ["portrait"]
    assert captures[0]["quality"]["attempts"] == 1
