"""/app/wallet in Chromium at a phone's size: the QR of an offer for another wallet (what a phone
camera reads from it), and the app itself as the wallet (a non-extractable WebCrypto key in
IndexedDB, the proof, the card kept in IndexedDB and shown); no personal data in the service
worker's cache; axe clean; CSP clean."""

from __future__ import annotations

from typing import Any

from eid.i18n import gettext
from tests.holder_app.conftest import sign_in_browser
from tests.support import decode_qr
from tests.web.axe import axe_scan, screenshot
from tests.web.browser import watch_csp

_KEY_AND_CARD = """async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open("eid-wallet", 1);
    r.onsuccess = () => ok(r.result);
    r.onerror = () => ko(r.error);
  });
  const read = (store, key) => new Promise((ok, ko) => {
    const r = db.transaction(store).objectStore(store).get(key);
    r.onsuccess = () => ok(r.result);
    r.onerror = () => ko(r.error);
  });
  const pair = await read("keys", "holder");
  const card = await read("credentials", "residence_card");
  const cached = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) cached.push(request.url);
  }
  return {
    private_extractable: pair.privateKey.extractable,
    algorithm: pair.privateKey.algorithm,
    full_name: card && card.claims.full_name,
    cached,
  };
}"""


def test_add_the_card_to_this_app(live: str, phone: Any, holder: Any) -> None:
    sign_in_browser(phone, live, holder)
    csp = watch_csp(phone)
    phone.goto(f"{live}/app/wallet?lang=vi")
    assert axe_scan(phone) == []
    phone.locator("[data-add-here]").click()
    phone.locator("#kept").wait_for(state="visible")
    assert phone.locator('[data-claim="full_name"]').inner_text() == "NGUYEN VAN A"
    status = phone.locator("#app-status").inner_text()
    assert status == gettext("vi", "Your card is kept in this app, on this device.", domain="pages")
    stored = phone.evaluate(_KEY_AND_CARD)
    assert stored["private_extractable"] is False
    assert stored["algorithm"] == {"name": "ECDSA", "namedCurve": "P-256"}
    assert stored["full_name"] == "NGUYEN VAN A"
    assert not [u for u in stored["cached"] if "/oid4vci/" in u or "/api/" in u or "/oauth2/" in u]
    assert axe_scan(phone) == []
    screenshot(phone, "app-wallet-kept-vi")
    # Kept across visits: the page shows it again from IndexedDB.
    phone.goto(f"{live}/app/wallet?lang=en")
    phone.locator("#kept").wait_for(state="visible")
    csp.assert_clean()


def test_offer_qr_for_another_wallet(live: str, phone: Any, holder: Any) -> None:
    sign_in_browser(phone, live, holder)
    csp = watch_csp(phone)
    phone.goto(f"{live}/app/wallet?lang=ko")
    phone.locator("[data-offer]").click()
    phone.locator("#offer-figure").wait_for(state="visible")
    caption = phone.locator("#offer-caption").inner_text()
    assert caption in {
        gettext("ko", text, domain="pages")
        for text in (
            "We sent a 6-digit code to your phone by SMS. Type it in the wallet when it asks.",
            "We sent a 6-digit code to your phone by SMS and to your e-mail. Type it in the wallet "
            "when it asks.",
        )
    }
    read = decode_qr(phone.locator("#offer-qr svg").screenshot())
    assert read.startswith("openid-credential-offer://?credential_offer_uri=")
    assert read == phone.locator("#offer-qr").get_attribute("data-link")
    assert axe_scan(phone) == []
    screenshot(phone, "app-wallet-offer-ko")
    csp.assert_clean()
