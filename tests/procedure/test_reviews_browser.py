"""A supervisor sees a held application beside the identity it may duplicate, portraits side
by side, in a real browser (headless Chromium), and decides it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from eid.i18n import gettext
from tests.conftest import SHOTS
from tests.procedure.test_review import _enrol, enrol_face_unlike_file
from tests.web.axe import axe_scan
from tests.web.browser import assert_session_unreadable, watch_csp


def test_supervisor_compares_both_records_and_rejects_the_second_identity(
    sign_in_page: Callable[[str, str], Any],
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    page: Any,
) -> None:
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    officer = make_officer("officer")
    first = registry_person(number="Q10000001", name="MORI KEN", nationality="JPN")
    second = registry_person(number="Q20000002", name="SATO JIRO", nationality="KOR")
    a = _enrol(
        officer,
        first,
        faces / "df09_deepface_img53.jpg",
        {2: prints / "pyfnprint_015_1.png", 7: prints / "pyfnprint_016_1.png"},
    )
    assert a["status"] == "verified", a["checks"]
    b = _enrol(  # the same person, the same fingers, another passport
        officer,
        second,
        faces / "df09_deepface_img54.jpg",
        {2: prints / "pyfnprint_015_3.png", 7: prints / "pyfnprint_016_3.png"},
    )
    assert b["status"] == "in_review", b["checks"]
    # And one whose face does not match the photo on file (fingers do): no candidate, so the
    # page shows the immigration database's photo beside the capture.
    c = enrol_face_unlike_file(officer, registry_person, shared_data, "Q30000003", "REYES ANA")
    assert c["status"] == "in_review", c["checks"]
    # And a data mismatch: face and fingers match the file, the name is spelt otherwise.
    on_record = registry_person(
        number="Q40000004",
        name="LIM SOO JIN",
        portrait=faces / "df05_deepface_img35.jpg",
        fingers={2: prints / "pyfnprint_005_1.png"},
    )
    d = _enrol(
        officer,
        dict(on_record, full_name="LIM SOO JINN"),
        faces / "df05_deepface_img34.jpg",
        {2: prints / "pyfnprint_005_2.png", 7: prints / "pyfnprint_006_2.png"},
    )
    assert d["status"] == "in_review", d["checks"]

    csp = watch_csp(page)  # the same browser page that sign_in_page drives
    page = sign_in_page("/reviews", "supervisor")
    page.wait_for_selector("section.review")
    assert_session_unreadable(page)
    review = page.locator("section.review").filter(has_text="SATO JIRO")
    held, candidate = (
        review.locator("[data-side=application]"),
        review.locator("[data-side=candidate]"),
    )
    assert "Q20000002" in held.inner_text() and "Q10000001" in candidate.inner_text()
    # Both portraits decoded in the page (they come through the API with the session cookie).
    for side in (held, candidate):
        side.locator("img").evaluate(
            "img => img.complete && img.naturalWidth > 0 ? true : new Promise("
            "(ok, no) => { img.onload = () => ok(true); img.onerror = () => no('broken'); })"
        )
        assert side.locator("img").evaluate("img => img.naturalWidth") > 100
    assert review.locator(".checks tr[data-check=duplicates_1toN]").count() == 1
    # Why each check holds the application, in the page's language (Vietnamese), its
    # parameters too: the sentence, and the message it is given as its reason.
    duplicate = review.locator(".checks tr[data-check=duplicates_1toN]").inner_text()
    assert gettext("vi", "possible second identity: %(why)s", why="") in duplicate
    assert gettext("vi", "fingerprints match another identity") in duplicate
    assert "second identity" not in duplicate
    doubt = page.locator("section.review").filter(has_text="REYES ANA")
    photo = doubt.locator("[data-side=registry] img")
    photo.evaluate(
        "img => img.complete && img.naturalWidth > 0 ? true : new Promise("
        "(ok, no) => { img.onload = () => ok(true); img.onerror = () => no('broken'); })"
    )
    assert photo.evaluate("img => img.naturalWidth") > 100
    assert doubt.locator("[data-side=registry] h3").inner_text() == gettext(
        "vi", "Photo on file in the immigration database", domain="pages"
    )
    # The immigration database's record beside every hold: its data (the passport on file for
    # the second identity) and its photo, or why there is none.
    on_file = review.locator("[data-side=registry]")
    assert on_file.locator("tr[data-field=passport_number]").inner_text().endswith("Q20000002")
    assert on_file.locator("tr.differs").count() == 0  # the data agree; the doubt is the face
    on_file.locator(".missing:not(.hidden)").wait_for()  # no photo on file for this person
    assert "REYES ANA" in doubt.locator("[data-side=registry] .record").inner_text()
    assert doubt.locator("[data-side=candidate]").count() == 0
    assert (
        gettext("vi", "the face does not match the portrait on file")
        in doubt.locator(".checks tr[data-check=face_1to1]").inner_text()
    )
    misspelt = page.locator("section.review").filter(has_text="LIM SOO JINN")
    registry_side = misspelt.locator("[data-side=registry]")
    differing = registry_side.locator("tr.differs").evaluate_all(
        "rows => rows.map(r => r.dataset.field)"
    )
    assert differing == ["full_name"]
    assert (
        gettext("vi", "the name differs from the immigration database's spelling")
        in misspelt.locator(".checks tr[data-check=identity_data]").inner_text()
    )
    assert "LIM SOO JIN" in registry_side.locator("tr[data-field=full_name]").inner_text()
    photo_on_file = registry_side.locator("img")
    photo_on_file.evaluate(
        "img => img.complete && img.naturalWidth > 0 ? true : new Promise("
        "(ok, no) => { img.onload = () => ok(true); img.onerror = () => no('broken'); })"
    )
    found = axe_scan(page)
    assert found == [], [str(v) for v in found]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "reviews.png"), full_page=True)
    review.screenshot(path=str(SHOTS / "reviews-one.png"))  # the README's, made smaller

    review.locator("textarea[name=note]").fill("same face and fingers as Q10000001")
    review.locator("button[value=reject]").click()
    page.wait_for_selector("p.decided[data-status=rejected]")
    assert page.inner_text("#error") == ""
    csp.assert_clean()
    assert officer.get(f"/api/v1/applications/{b['id']}").json()["status"] == "rejected"
