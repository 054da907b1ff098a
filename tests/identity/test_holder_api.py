"""The holder's API over HTTP: activation, device login, /api/v1/me (profile, lock and unlock,
devices, consents, inbox), and the lockout surviving the refused request."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from joserfc.jwk import OKPKey
from sqlalchemy import select

from eid.authority import service as authority
from eid.core import clock
from eid.core.database import unit_of_work
from eid.identity.models import HolderCredential
from tests.identity.factories import (
    PASSCODE,
    PASSWORD,
    TEST_ACTOR,
    activate_over_api,
    make_account,
    sign_nonce,
)


def _activate(api: TestClient) -> tuple[str, OKPKey, str]:
    key = OKPKey.generate_key("Ed25519")
    number, token = activate_over_api(api, key)
    return number, key, token


def _device_login(api: TestClient, number: str, key: OKPKey) -> str:
    challenge = api.post("/api/v1/identity/challenges", json={"eid_number": number}).json()
    response = api.post(
        "/api/v1/identity/sessions",
        json={
            "eid_number": number,
            "password": PASSWORD,
            "challenge_id": challenge["challenge_id"],
            "proof": sign_nonce(key, challenge["nonce"]),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def test_activation_refuses_a_private_key_and_a_weak_password(api: TestClient) -> None:
    with unit_of_work() as db:
        account_id, number = make_account(db)
        code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    key = OKPKey.generate_key("Ed25519")
    response = api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "device": {"public_jwk": key.as_dict(private=True)},
        },
    )
    assert response.json()["error"]["code"] == "INVALID_DEVICE_KEY"
    response = api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": "password",
            "passcode": PASSCODE,
            "device": {"public_jwk": key.as_dict(private=False)},
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "WEAK_PASSWORD"


def test_profile_devices_and_self_lock_unlock(api: TestClient) -> None:
    number, key, _ = _activate(api)
    token = _device_login(api, number, key)
    auth = {"Authorization": f"Bearer {token}"}
    profile = api.get("/api/v1/me", headers=auth).json()
    assert profile["eid_number"] == number and profile["status"] == "active"
    devices = api.get("/api/v1/me/devices", headers=auth).json()
    assert [d["status"] for d in devices] == ["bound"]
    assert "d" not in devices[0]["public_jwk"]
    locked = api.post("/api/v1/me/lock", headers=auth).json()
    assert locked["status"] == "locked" and locked["lock_grounds"] == ["holder_request"]
    # The session stops working at once, and so does logging in.
    assert api.get("/api/v1/me", headers=auth).status_code == 403
    challenge = api.post("/api/v1/identity/challenges", json={"eid_number": number}).json()
    refused = api.post(
        "/api/v1/identity/sessions",
        json={
            "eid_number": number,
            "password": PASSWORD,
            "challenge_id": challenge["challenge_id"],
            "proof": sign_nonce(key, challenge["nonce"]),
        },
    )
    assert refused.json()["error"]["code"] == "ACCOUNT_LOCKED"
    unlocked = api.post(
        "/api/v1/me/unlock", json={"eid_number": number, "password": PASSWORD, "passcode": PASSCODE}
    ).json()
    assert unlocked["status"] == "active"
    assert (
        api.get("/api/v1/me", headers=_bearer(_device_login(api, number, key))).status_code == 200
    )


def test_unlock_keeps_other_grounds(api: TestClient) -> None:
    number, _, _ = _activate(api)
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None
        authority.add_lock_ground(db, account.id, "holder_request", actor=TEST_ACTOR)
        authority.add_lock_ground(db, account.id, "residence_card_expired", actor=TEST_ACTOR)
    body = api.post(
        "/api/v1/me/unlock", json={"eid_number": number, "password": PASSWORD, "passcode": PASSCODE}
    ).json()
    assert body["status"] == "locked" and body["lock_grounds"] == ["residence_card_expired"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_failed_attempts_survive_the_refused_request(api: TestClient) -> None:
    number, _, _ = _activate(api)
    for _ in range(3):
        response = api.post(
            "/api/v1/identity/sessions",
            json={"eid_number": number, "password": "Wrong!Pass1", "passcode": PASSCODE},
        )
        assert response.status_code == 401
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None
        failures = db.execute(
            select(HolderCredential.failed_attempts).where(
                HolderCredential.account_id == account.id
            )
        ).scalar_one()
    assert failures == 3


def test_inbox_lists_the_holders_notifications(api: TestClient) -> None:
    number, key, _ = _activate(api)
    token = _device_login(api, number, key)
    inbox = api.get("/api/v1/me/notifications", headers=_bearer(token))
    assert inbox.status_code == 200
    assert any("account_issued" in str(item) for item in inbox.json())


def test_no_session_no_access(api: TestClient) -> None:
    assert api.get("/api/v1/me").json()["error"]["code"] == "INVALID_SESSION"
    assert api.get("/api/v1/me", headers=_bearer("forged")).status_code == 401


def test_wrong_activation_codes_back_off_and_the_lock_expires(api: TestClient) -> None:
    with unit_of_work() as db:
        account_id, number = make_account(db)
        code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    key = OKPKey.generate_key("Ed25519").as_dict(private=False)
    body = {
        "eid_number": number,
        "password": PASSWORD,
        "passcode": PASSCODE,
        "device": {"public_jwk": key},
    }
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(5):
        response = api.post("/api/v1/identity/activation", json={**body, "activation_code": wrong})
        assert response.json()["error"]["code"] == "ACTIVATION_FAILED"
    # In the backoff the right code gets the same answer as a wrong one (no oracle) ...
    refused = api.post("/api/v1/identity/activation", json={**body, "activation_code": code})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "ACTIVATION_FAILED"
    # ... and the backoff expires: never locked for good.
    clock.shift(dt.timedelta(seconds=61))
    response = api.post("/api/v1/identity/activation", json={**body, "activation_code": code})
    assert response.status_code == 201, response.text
