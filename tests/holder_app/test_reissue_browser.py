"""A card invalidated by a revoked issuing certificate, end to end in Chromium at a phone's size,
in Korean as a Korean resident reads the app: the holder keeps the card in the app; the operator
revokes the certificate that signed it (`eid keys revoke-issuing --reason keyCompromise`, here
the service it calls); the holder finds the message in the app's inbox in Korean, follows its
link to /app/wallet, where the kept card reads no longer valid (the status list), adds the card
again, and gets one signed under the successor certificate (not on the root's CRL) that a
relying party accepts through /app/present; the old card, presented by the same key, is refused
CERTIFICATE_REVOKED. axe clean, CSP clean, screenshots in build/screenshots."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography import x509

from eid.i18n import gettext
from tests.holder_app.conftest import sign_in_browser
from tests.wallet.oid4vp_fixtures import create, relying_party, result
from tests.web.axe import axe_scan, screenshot
from tests.web.browser import watch_csp

LANG = "ko"
PARTY = "Nhà trọ Hoa Mai"
AUD, NONCE = "x509_hash:reissue-test", "n-reissue"

# The kept card's credential, and a presentation of it signed by the app's own (non-extractable)
# key exactly as app-present.js signs one: what a verifier would receive from this phone.
_KEPT_AND_PRESENTED = """async ([aud, nonce]) => {
  const w = window.eidWallet;
  const card = await w.card();
  const pair = await w.holderKey(false);
  const sdJwt = `${card.credential.split("~")[0]}~`;
  const kb = await w.signJwt(
    pair,
    { alg: "ES256", typ: "kb+jwt" },
    { iat: w.now(), aud, nonce, sd_hash: await w.sha256(sdJwt) },
  );
  return { credential: card.credential, presentation: sdJwt + kb };
}"""


def _t(text: str, **params: str) -> str:
    return gettext(LANG, text, domain="pages", **params)


def _leaf(credential: str) -> x509.Certificate:
    head = credential.split("~")[0].split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))


@pytest.fixture
def korean_holder(committed: Any) -> Any:
    """An active Level-2 holder whose account language is Korean (what the messages use)."""
    from eid.core.database import unit_of_work
    from tests.identity.factories import make_holder

    with unit_of_work() as db:
        return make_holder(db, language=LANG)


def test_a_card_of_a_revoked_certificate_is_added_again_and_shared(
    live: str, phone: Any, korean_holder: Any
) -> None:
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.notify.templates import render
    from eid.wallet import certs, oid4vp, service
    from eid.wallet.verifier import PresentationRefused

    holder = korean_holder
    sign_in_browser(phone, live, holder)
    csp = watch_csp(phone)
    phone.goto(f"{live}/app/wallet?lang={LANG}")
    phone.locator("[data-add-here]").click()
    phone.locator("#kept-state[data-state=valid]").wait_for()
    old = phone.evaluate(_KEPT_AND_PRESENTED, [AUD, NONCE])
    old_leaf = _leaf(old["credential"])

    # The operator revokes the certificate that signed it.
    with unit_of_work() as db:
        signing = certs.signer(db)
        assert signing.certificate.serial_number == old_leaf.serial_number
        done = service.revoke_issuing_certificate(
            db, signing.kid, "keyCompromise", actor=Actor(kind="system", id="test", role="admin")
        )
        assert done.changed and done.live_cards >= 1 and done.successor

    # The holder opens the app: the message is in the inbox, in Korean, linking to the wallet.
    phone.goto(f"{live}/app/inbox?lang={LANG}")
    subject = gettext(LANG, "Add your e-residence card to your wallet again")
    assert subject != "Add your e-residence card to your wallet again"
    item = phone.locator("li[data-message]", has=phone.get_by_role("heading", name=subject))
    assert item.count() == 1  # told once
    told = render("card_reissue_needed", LANG, {"eid_number": holder.eid_number})
    assert item.locator("p.body").inner_text() == told.body.strip()
    assert holder.eid_number in told.body and "/app/wallet" in told.body
    link = item.get_by_role("link", name=_t("Open"))
    assert link.get_attribute("href") == "/app/wallet"
    assert axe_scan(phone) == []
    screenshot(phone, f"app-inbox-reissue-{LANG}")
    link.click()
    phone.wait_for_url(f"{live}/app/wallet")

    # The kept card reads no longer valid, in Korean, and says why in words that fit this cause.
    state = phone.locator("#kept-state[data-state=revoked]")
    state.wait_for()
    revoked_text = _t(
        "Status: no longer valid (another phone is bound now, or eid replaced the certificate "
        "that signed it). Add your card to this app again."
    )
    assert revoked_text.startswith("상태:")
    assert state.inner_text() == revoked_text
    assert axe_scan(phone) == []
    screenshot(phone, f"app-wallet-revoked-{LANG}")

    # Added again: valid, signed under the successor, which the root's CRL does not list.
    phone.locator("[data-add-here]").click()
    phone.locator("#kept-state[data-state=valid]").wait_for()
    assert phone.locator("#kept-state").inner_text() == _t(
        "Status: valid. eid confirmed it just now."
    )
    new = phone.evaluate(_KEPT_AND_PRESENTED, [AUD, NONCE])
    new_leaf = _leaf(new["credential"])
    assert new_leaf.serial_number != old_leaf.serial_number
    assert new_leaf.public_key() != old_leaf.public_key()  # a new key, not a new certificate only
    with unit_of_work() as db:
        crl = certs.current_crl(db)
        assert crl.get_revoked_certificate_by_serial_number(old_leaf.serial_number) is not None
        assert crl.get_revoked_certificate_by_serial_number(new_leaf.serial_number) is None
        assert certs.signer(db).certificate.serial_number == new_leaf.serial_number
        # The same key presents both: the new card verifies, the old one is refused.
        vcts = oid4vp.accepted_vcts()
        assert oid4vp.verify_sd_jwt(
            db, new["presentation"], audience=AUD, nonce=NONCE, vcts=vcts
        ).claims
        with pytest.raises(PresentationRefused) as refused:
            oid4vp.verify_sd_jwt(db, old["presentation"], audience=AUD, nonce=NONCE, vcts=vcts)
        assert refused.value.code == "CERTIFICATE_REVOKED"
    assert axe_scan(phone) == []
    screenshot(phone, f"app-wallet-reissued-{LANG}")

    # Shared through the app with a relying party that asks through eid's verifier.
    rp = relying_party(PARTY)
    made = create(live, rp, preset="landlord").json()
    query = httpx.QueryParams({"request": made["wallet_url"], "lang": LANG})
    phone.goto(f"{live}/app/present?{query}")
    phone.wait_for_selector("[data-share]:not([disabled])")
    assert phone.locator("#present-card").inner_text() == _t(
        "Your card in this app is ready to share."
    )
    phone.click("[data-share]")
    phone.locator("#present-done").wait_for(state="visible")
    got = result(live, rp, made["id"]).json()
    assert got["status"] == "verified" and got["outcome"] == "valid"
    assert got["credentials"]["residence_card"]["full_name"] == "NGUYEN VAN A"
    screenshot(phone, f"app-present-reissued-{LANG}")
    csp.assert_clean()
