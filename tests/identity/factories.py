"""Accounts through the authority's own service, holders with credentials and a device key."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, OKPKey
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.authority.schemas import AccountRequestMessage
from eid.core import clock
from eid.core.audit import Actor
from eid.identity import service

PASSWORD = "Str0ng!Pass"
PASSCODE = "246813"
TEST_ACTOR = Actor(kind="system", id="tests", role="system")


@dataclass
class TestHolder:
    account_id: uuid.UUID
    eid_number: str
    device_key: OKPKey | ECKey
    session_token: str | None = None

    def prove(self, nonce: str, key: OKPKey | ECKey | None = None) -> str:
        return sign_nonce(key or self.device_key, nonce)


def sign_nonce(key: OKPKey | ECKey, nonce: str) -> str:
    alg = "ES256" if isinstance(key, ECKey) else "EdDSA"
    return jws.serialize_compact({"alg": alg}, nonce.encode(), key, algorithms=[alg])


def make_account(
    db: Session,
    *,
    portrait: bytes | None = None,
    full_name: str = "NGUYEN VAN A",
    card_expiry: str = "2030-12-31",
    language: str = "en",
) -> tuple[uuid.UUID, str]:
    ref = f"REF-{secrets.token_hex(6)}"
    message = AccountRequestMessage(
        request_id=f"req-{uuid.uuid4()}",
        application_id=str(uuid.uuid4()),
        registry_ref=ref,
        full_name=full_name,
        date_of_birth=dt.date(1990, 1, 31),
        sex="M",
        nationality="KOR",
        passport={
            "number": "M12345678",
            "type": "P",
            "issuing_state": "KOR",
            "issue_date": "2021-05-01",
            "expiry_date": "2031-04-30",
        },
        residence_card={"number": "TT1234567", "kind": "TRC", "expiry_date": card_expiry},
        phone="+84901234567",
        email="a@example.com",
        language=language,
        portrait_sha256=hashlib.sha256(portrait).hexdigest() if portrait else None,
        sent_at=clock.now(),
    )
    decision = authority.receive_account_request(
        db, message, authority.sign_request(message), portrait=portrait
    )
    assert decision.account_id is not None
    account = authority.get_account(db, decision.account_id)
    return account.id, account.eid_number


def make_holder(db: Session, *, key: OKPKey | ECKey | None = None, **kwargs: Any) -> TestHolder:
    account_id, number = make_account(db, **kwargs)
    code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    key = key or OKPKey.generate_key("Ed25519")
    issued = service.activate(
        db,
        eid_number=number,
        activation_code=code,
        password=PASSWORD,
        passcode=PASSCODE,
        device_jwk=key.as_dict(private=False),
        device_label="test phone",
    )
    return TestHolder(
        account_id=account_id, eid_number=number, device_key=key, session_token=issued.token
    )


def activate_over_api(api: Any, key: OKPKey | ECKey) -> tuple[str, str]:
    """A new account activated through the public endpoint with `key` as its device.
    Returns (e-ID number, holder access token)."""
    from eid.core.database import unit_of_work

    with unit_of_work() as db:
        account_id, number = make_account(db)
        code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    response = api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "device": {"public_jwk": key.as_dict(private=False)},
        },
    )
    assert response.status_code == 201, response.text
    return number, str(response.json()["access_token"])
