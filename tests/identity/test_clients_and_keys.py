"""Relying-party registration under an agreement, and signing-key rotation with the old key kept
in the JWKS until its tokens have expired."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.core.errors import ValidationFailed
from eid.identity import keys
from eid.identity.clients import check_secret, get_client, pairwise_subject
from eid.identity.models import RelyingParty
from eid.identity.service import create_client
from eid.staff.service import create_officer, current_totp

ADMIN = Actor(kind="officer", id="admin-1", role="admin")


def _create(db: Session, **overrides: object) -> tuple[str, str]:
    args: dict[str, object] = {
        "name": "Bank",
        "redirect_uris": ["https://bank.example/cb"],
        "scopes": ["openid", "ekyc_basic"],
        "purpose": "KYC",
        "actor": ADMIN,
    }
    args.update(overrides)
    return create_client(db, **args)  # type: ignore[arg-type]


def test_client_secret_is_kept_hashed_and_sectors_differ(db: Session) -> None:
    client_id, secret = _create(db)
    row = db.execute(select(RelyingParty).where(RelyingParty.client_id == client_id)).scalar_one()
    assert secret not in row.secret_hash and check_secret(row, secret)
    assert not check_secret(row, secret + "x")
    other = get_client(db, _create(db)[0])
    assert other is not None
    import uuid

    account = uuid.uuid4()
    assert pairwise_subject(row, account) != pairwise_subject(other, account)
    assert pairwise_subject(row, account) == pairwise_subject(row, account)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"scopes": ["ekyc_basic"]}, "INVALID_SCOPES"),
        ({"scopes": ["openid", "everything"]}, "INVALID_SCOPES"),
        ({"redirect_uris": ["http://bank.example/cb"]}, "INVALID_REDIRECT_URI"),
        ({"redirect_uris": ["https://bank.example/cb#x"]}, "INVALID_REDIRECT_URI"),
        ({"redirect_uris": []}, "INVALID_REDIRECT_URI"),
        ({"purpose": " "}, "PURPOSE_REQUIRED"),
    ],
)
def test_client_registration_refusals(db: Session, overrides: dict[str, object], code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        _create(db, **overrides)
    assert err.value.code == code


def test_rotation_keeps_old_key_published_until_its_tokens_expire(db: Session) -> None:
    keys.forget_active_key()
    old_kid, old_key = keys.active_key(db)
    token = jwt.encode(
        {"alg": "ES256", "kid": old_kid}, {"sub": "x"}, old_key, algorithms=["ES256"]
    )
    new = keys.rotate(db, actor=ADMIN)
    clock.shift(keys.NEXT_KEY_LEAD)  # the next key signs once every cached JWKS has it
    keys.forget_active_key()
    assert keys.active_key(db)[0] == new.kid
    published = keys.published_jwks(db)
    assert {k["kid"] for k in published["keys"]} == {old_kid, new.kid}
    assert all("d" not in k for k in published["keys"])
    jwt.decode(token, KeySet.import_key_set(published), algorithms=["ES256"])
    clock.shift(keys.PUBLISH_AFTER_RETIRE + dt.timedelta(minutes=1))
    assert {k["kid"] for k in keys.published_jwks(db)["keys"]} == {new.kid}
    keys.forget_active_key()


def test_admin_registers_a_client_over_http(api: TestClient) -> None:
    body = {
        "name": "Landlord",
        "redirect_uris": ["https://rent.example/cb"],
        "scopes": ["openid", "residence"],
        "purpose": "tenant check",
    }
    assert api.post("/api/v1/admin/clients", json=body).status_code == 401
    with unit_of_work() as db:
        officer = create_officer(
            db,
            username="rp-admin",
            password="Admin-Pass-1234",
            office="HN01",
            role="admin",
            actor=ADMIN,
        )
    login = api.post(
        "/api/v1/officer/sessions",
        json={
            "username": "rp-admin",
            "password": "Admin-Pass-1234",
            "totp": current_totp(officer.totp_secret),
        },
    )
    assert login.status_code in (200, 201), login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = api.post("/api/v1/admin/clients", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["client_id"].startswith("rp_")
    assert created.json()["client_secret"] and created.json()["profile"] == "basic"
    # A FAPI 2.0 client with its public keys: no secret; a private key member is refused.
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    fapi = {**body, "profile": "fapi2", "jwks": {"keys": [key.as_dict(private=False)]}}
    made = api.post("/api/v1/admin/clients", json=fapi, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["client_secret"] is None and made.json()["profile"] == "fapi2"
    leaked = {**fapi, "jwks": {"keys": [key.as_dict(private=True)]}}
    refused = api.post("/api/v1/admin/clients", json=leaked, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "PRIVATE_KEY_IN_JWKS"
    rotated = api.post("/api/v1/admin/oidc-keys/rotation", headers=auth)
    assert rotated.status_code == 201
    assert rotated.json()["kid"] in {k["kid"] for k in api.get("/oauth2/jwks").json()["keys"]}
    keys.forget_active_key()
