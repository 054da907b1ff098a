"""The verifier page at a counter (a landlord's phone, a bank's screen): the QR and the
same-device link, then the outcome appearing by itself once a wallet answered, in each language;
axe-clean, with screenshots under build/screenshots."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wallet.oid4vp_fixtures import card, create, post, present, relying_party, resolve
from tests.wallet.qr_camera import SCREENS
from tests.web.axe import PHONE, axe_scan, screenshot


@pytest.mark.parametrize("lang", ["vi", "en", "zh", "ko", "ja"])
def test_verifier_page_shows_qr_then_the_result(live: str, page: Any, lang: str) -> None:
    rp, c = relying_party(), card()
    made = create(live, rp, preset="landlord").json()
    page.set_viewport_size(PHONE)
    page.goto(f"{live}/verify/{made['id']}?lang={lang}")
    qr = page.locator(".verify-qr svg")
    box = qr.bounding_box()
    assert box is not None and box["width"] == SCREENS["phone"][1]  # the column on a phone
    link = page.locator("a.button")
    assert link.get_attribute("href") == made["wallet_url"]
    app = page.locator("a[href^='/app/present?request=']")
    assert app.count() == 1  # the same device's eID app shows who asks and what
    assert axe_scan(page) == []
    screenshot(page, f"oid4vp-verify-waiting-{lang}")
    _, request = resolve(made["wallet_url"])
    answer = post(
        request, {"residence_card": [present(c, request, ["full_name", "residence_card_expiry"])]}
    )
    assert answer.status_code == 200
    page.wait_for_selector(".card-valid", timeout=15000)  # verify.js polled and reloaded
    assert "NGUYEN VAN A" in page.inner_text("main")
    assert axe_scan(page) == []
    screenshot(page, f"oid4vp-verify-result-{lang}")
