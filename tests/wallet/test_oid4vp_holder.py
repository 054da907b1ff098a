"""Issue 12 item 5 (presenting half): the holder app opens an `openid4vp://` request and shows
who asks (the relying party eid registered, its purpose), that eid verifies it, and which claims
(required, or optional and unticked), without spending the request; the holder may decline.
Sharing from the card kept in the app: tests/holder_app/test_present_browser.py; a device
wallet's answer: tests/wallet/test_oid4vp_node_wallet.py."""

from __future__ import annotations

from typing import Any

import httpx

from tests.holder_app.conftest import sign_in_browser
from tests.wallet.oid4vp_fixtures import create, relying_party, result, wallet_params
from tests.web.axe import PHONE, axe_scan, screenshot


def _session(live: str, holder: Any) -> httpx.Client:
    client = httpx.Client(base_url=live)
    client.headers["Authorization"] = f"Bearer {holder.session_token}"
    return client


def test_preview_shows_who_asks_and_what_without_spending(live: str) -> None:
    from tests.wallet.oid4vp_fixtures import card

    rp, c = relying_party(), card()
    made = create(live, rp, preset="landlord").json()
    with _session(live, c.holder) as me:
        got = me.post(
            "/api/v1/me/presentation-requests/preview", json={"wallet_url": made["wallet_url"]}
        )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["relying_party"] == "Nhà trọ Hoa Mai"
    assert body["purpose"] == "open a bank account (KYC)"
    assert body["verified_by"] == "eid" and body["open"] is True
    assert body["claims"] == [
        {"name": "full_name", "required": True},
        {"name": "residence_card_expiry", "required": True},
        {"name": "nationality", "required": False},
    ]
    # Not spent: the wallet still fetches the request object.
    assert httpx.get(wallet_params(made["wallet_url"])["request_uri"]).status_code == 200


def test_foreign_request_is_refused_and_decline_reaches_the_rp(live: str) -> None:
    from tests.wallet.oid4vp_fixtures import card

    rp, c = relying_party(), card()
    made = create(live, rp, preset="landlord").json()
    with _session(live, c.holder) as me:
        foreign = me.post(
            "/api/v1/me/presentation-requests/preview",
            json={
                "wallet_url": "openid4vp://?client_id=x509_hash:abc&request_uri=https://x.example/r"
            },
        )
        assert foreign.status_code == 422
        assert foreign.json()["error"]["code"] == "REQUEST_FOREIGN"
        declined = me.post(
            "/api/v1/me/presentation-requests/decline", json={"wallet_url": made["wallet_url"]}
        )
        assert declined.status_code == 204
    assert result(live, rp, made["id"]).json()["outcome"] == "WALLET_ACCESS_DENIED"


def test_present_page_in_the_holder_app(live: str, page: Any) -> None:
    from tests.wallet.oid4vp_fixtures import card

    rp, c = relying_party(), card()
    made = create(live, rp, preset="bank_ekyc").json()
    page.set_viewport_size(PHONE)
    sign_in_browser(page, live, c.holder)
    for lang in ("vi", "en", "zh", "ko", "ja"):
        page.goto(f"{live}/app/present?lang={lang}")
        assert page.locator("#present-request").count() == 1
        assert axe_scan(page) == []
    page.goto(f"{live}/app/present?{httpx.QueryParams({'request': made['wallet_url']})}")
    assert "Nhà trọ Hoa Mai" in page.inner_text("h2")
    required = page.locator("input[name=claims][disabled]")
    optional = page.locator("input[name=claims]:not([disabled])")
    assert required.count() == 7 and optional.count() == 2
    assert all(not optional.nth(i).is_checked() for i in range(2))
    assert axe_scan(page) == []
    screenshot(page, "oid4vp-app-present-ja")
    page.click("[data-decline]")
    page.wait_for_selector("[data-decline][disabled]")
    assert result(live, rp, made["id"]).json()["outcome"] == "WALLET_ACCESS_DENIED"


def test_a_verified_presentation_is_in_the_holders_access_history(live: str) -> None:
    from tests.wallet.oid4vp_fixtures import card, post, present, resolve

    rp, c = relying_party(), card()
    made = create(live, rp, preset="landlord").json()
    _, request = resolve(made["wallet_url"])
    shown = present(c, request, ["full_name", "residence_card_expiry"])
    assert post(request, {"residence_card": [shown]}).status_code == 200
    with _session(live, c.holder) as me:
        history = me.get("/api/v1/me/access-history").json()
    assert [(r["client_name"], r["channel"], r["claims"]) for r in history] == [
        ("Nhà trọ Hoa Mai", "presentation", ["full_name", "residence_card_expiry"])
    ]
