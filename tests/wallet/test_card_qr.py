"""The e-residence card's QR: a short link an ordinary phone camera reads (version <= 10 at
error correction M, >= 0.5 mm a module at 6 cm), decoded by OpenCV, opening the card's state."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import OKPKey
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.errors import ValidationFailed
from eid.wallet import qr, service
from tests.identity.factories import TEST_ACTOR, activate_over_api, make_holder
from tests.support import decode_qr


def test_the_card_qr_is_a_short_link_a_phone_reads(db: Session) -> None:
    holder = make_holder(db)
    card = service.card_qr_svg(db, holder.account_id)
    assert re.fullmatch(r"https?://[^/]+/v/[A-Za-z0-9_-]{22}", card.url)
    measured = qr.density(card.url, error=qr.CARD_ERROR)
    assert measured.error == "m" and measured.version <= qr.CARD_MAX_VERSION
    assert measured.mm_per_module >= qr.READABLE_MM
    assert decode_qr(qr.card_link_png(card.url)) == card.url
    assert card.svg.startswith("<svg") and 'width="60.0mm"' in card.svg
    assert card.expires_at - clock.now() <= service.CARD_LINK_TTL


def test_a_whole_presentation_was_too_dense(db: Session) -> None:
    """Why the card carries a link: the presentation it would otherwise carry."""
    measured = qr.density("x" * 1800, error="l")
    assert measured.version > qr.CARD_MAX_VERSION and not measured.readable


def test_the_link_shows_the_chosen_claims_until_it_expires_and_a_lock_at_once(
    db: Session,
) -> None:
    holder = make_holder(db, full_name="TRAN THI B")
    card = service.card_qr_svg(db, holder.account_id, claims=("full_name", "nationality"))
    token = card.url.rsplit("/", 1)[1]
    seen = service.open_card_link(db, token)
    assert seen is not None and seen.valid
    assert seen.claims == {"full_name": "TRAN THI B", "nationality": "KOR"}
    authority.add_lock_ground(db, holder.account_id, "holder_request", actor=TEST_ACTOR)
    locked = service.open_card_link(db, token)
    assert locked is not None and not locked.valid
    clock.shift(service.CARD_LINK_TTL + dt.timedelta(seconds=1))
    assert service.open_card_link(db, token) is None
    assert service.open_card_link(db, "not-a-token") is None


def test_unknown_claims_are_refused(db: Session) -> None:
    holder = make_holder(db)
    with pytest.raises(ValidationFailed) as refused:
        service.card_qr_svg(db, holder.account_id, claims=("full_name", "portrait"))
    assert refused.value.code == "CARD_CLAIMS_INVALID"


def test_the_app_gets_the_svg_and_the_camera_opens_the_page(api: TestClient) -> None:
    _, token = activate_over_api(api, OKPKey.generate_key("Ed25519"))
    r = api.get("/api/v1/me/card/qr.svg", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.headers["cache-control"] == "no-store" and r.text.startswith("<svg")
    assert api.get("/api/v1/me/card/qr.svg").status_code == 401

    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, _number(api, token))
        assert account is not None
        card = service.card_qr_svg(db, account.id)
    page = api.get(f"/v/{card.url.rsplit('/', 1)[1]}?lang=ko")
    assert page.status_code == 200
    assert "이 전자 체류증은 현재 유효합니다." in page.text and account.full_name in page.text
    gone = api.get("/v/AAAAAAAAAAAAAAAAAAAAAA?lang=ja")
    assert gone.status_code == 404 and "有効期限が切れています" in gone.text


def _number(api: TestClient, token: str) -> str:
    profile = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    return str(profile["eid_number"])


def test_expired_links_are_purged(db: Session) -> None:
    from eid.wallet.models import CardLink
    from eid.wallet.tasks import purge_card_links

    holder = make_holder(db)
    service.card_qr_svg(db, holder.account_id)
    clock.shift(service.CARD_LINK_TTL + dt.timedelta(hours=2))
    service.card_qr_svg(db, holder.account_id)  # a fresh one stays
    purge_card_links(db, {}, None)
    left = db.query(CardLink).filter(CardLink.account_id == holder.account_id).all()
    assert len(left) == 1 and left[0].expires_at > clock.now()
