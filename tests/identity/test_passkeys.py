"""Passkeys over the API with a software authenticator (real WebAuthn ceremonies through
py_webauthn): activation, login, rebind, and every refusal; the browser session (cookie, CSRF)."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import OKPKey
from sqlalchemy import select

from eid.authority import service as authority
from eid.core import clock
from eid.core.audit import AuditEvent
from eid.core.database import unit_of_work
from eid.identity import service
from eid.identity.models import Device, HolderCredential, PasskeyCeremony
from eid.identity.passkeys import relying_party
from tests.identity.factories import (
    PASSCODE,
    PASSWORD,
    TEST_ACTOR,
    activate_over_api,
    make_account,
)
from tests.identity.soft_authenticator import SoftAuthenticator
from tests.support import code_in

OPTIONS = "/api/v1/identity/passkeys/options"
SESSIONS = "/api/v1/identity/sessions"


def _authenticator(**kwargs: Any) -> SoftAuthenticator:
    return SoftAuthenticator(origin=relying_party()[1], **kwargs)


def _options(api: TestClient, purpose: str, **extra: Any) -> dict[str, Any]:
    response = api.post(OPTIONS, json={"purpose": purpose, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _new_account(portrait: bytes | None = None) -> tuple[str, str]:
    with unit_of_work() as db:
        account_id, number = make_account(db, portrait=portrait)
        code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    return number, code


def _activate(
    api: TestClient, authenticator: SoftAuthenticator, *, cookie: bool = False
) -> tuple[str, Any]:
    number, code = _new_account()
    options = _options(api, "activation", eid_number=number)
    response = api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": authenticator.create(options["public_key"]),
            },
            "cookie": cookie,
        },
    )
    assert response.status_code == 201, response.text
    return number, response


def _login(api: TestClient, authenticator: SoftAuthenticator, **kwargs: Any) -> Any:
    options = _options(api, "login")
    return api.post(
        SESSIONS,
        json={
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": authenticator.get(options["public_key"], **kwargs),
            }
        },
    )


def _events(action: str) -> list[AuditEvent]:
    with unit_of_work() as db:
        return list(db.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_activation_with_a_passkey_then_login_with_it_alone(api: TestClient) -> None:
    authenticator = _authenticator()
    number, activated = _activate(api, authenticator)
    token = activated.json()["access_token"]
    devices = api.get("/api/v1/me/devices", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(d["kind"], d["status"]) for d in devices] == [("passkey", "bound")]
    # The user handle the authenticator keeps is random, never the e-ID number.
    assert (
        authenticator.user_handle is not None and number.encode() not in authenticator.user_handle
    )
    assert len(authenticator.user_handle) == 32

    response = _login(api, authenticator)
    assert response.status_code == 201, response.text
    assert response.json()["acr"] == service.ACR_LEVEL2
    current = api.get(
        f"{SESSIONS}/current",
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
    ).json()
    assert current["amr"] == ["hwk", "user"] and current["eid_number"] == number
    with unit_of_work() as db:
        device = db.execute(select(Device).where(Device.kind == "passkey")).scalar_one()
        assert device.sign_count == 1 and device.transports == ["internal"]
        assert device.public_jwk["kty"] == "EC"  # the wallet's `cnf`


def test_options_reveal_nothing_about_the_number(api: TestClient) -> None:
    number, _ = _new_account()
    known = _options(api, "activation", eid_number=number)
    unknown = _options(api, "activation", eid_number="000000000000")
    assert known.keys() == unknown.keys()
    assert known["public_key"].keys() == unknown["public_key"].keys()
    assert known["public_key"]["user"]["name"] == number
    assert known["public_key"]["authenticatorSelection"]["userVerification"] == "required"
    assert known["public_key"]["rp"]["id"] == relying_party()[0]
    login_known = _options(api, "login", eid_number=number)
    login_unknown = _options(api, "login", eid_number="000000000000")
    assert login_known["public_key"].keys() == login_unknown["public_key"].keys()
    assert login_known["public_key"].get("allowCredentials", []) == []
    assert api.post(OPTIONS, json={"purpose": "other"}).status_code == 422
    # One user handle per number at every activation try (a refused try's passkey is replaced
    # on the authenticator), another for another number, neither the number itself.
    again = _options(api, "activation", eid_number=number)
    handles = [o["public_key"]["user"]["id"] for o in (known, again, unknown)]
    assert handles[0] == handles[1] != handles[2]
    assert number not in base64.urlsafe_b64decode(handles[0] + "==").decode("latin-1")


def test_ceremonies_are_one_time_short_lived_and_for_one_purpose(api: TestClient) -> None:
    authenticator = _authenticator()
    _activate(api, authenticator)
    options = _options(api, "login")
    answer = {
        "ceremony_id": options["ceremony_id"],
        "credential": authenticator.get(options["public_key"]),
    }
    assert api.post(SESSIONS, json={"passkey": answer}).status_code == 201
    replay = api.post(SESSIONS, json={"passkey": answer})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "LOGIN_FAILED"

    options = _options(api, "login")
    with unit_of_work() as db:  # five minutes later (the throttle's clock stays as it is)
        ceremony = db.get(PasskeyCeremony, uuid.UUID(options["ceremony_id"]))
        assert ceremony is not None
        ceremony.expires_at = clock.now() - dt.timedelta(seconds=1)
    late = api.post(
        SESSIONS,
        json={
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": authenticator.get(options["public_key"]),
            }
        },
    )
    assert late.status_code == 401

    # An activation ceremony does not log in.
    wrong = _options(api, "activation")
    response = api.post(
        SESSIONS,
        json={
            "passkey": {
                "ceremony_id": wrong["ceremony_id"],
                "credential": authenticator.get({**options["public_key"], **wrong["public_key"]}),
            }
        },
    )
    assert response.status_code == 401


def test_a_login_ceremony_for_one_number_does_not_log_in_another(api: TestClient) -> None:
    authenticator = _authenticator()
    _activate(api, authenticator)
    other, _ = _new_account()
    options = _options(api, "login", eid_number=other)
    response = api.post(
        SESSIONS,
        json={
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": authenticator.get(options["public_key"]),
            }
        },
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "LOGIN_FAILED"


def test_user_verification_is_required(api: TestClient) -> None:
    number, code = _new_account()
    options = _options(api, "activation", eid_number=number)
    lazy = _authenticator(user_verified=False)
    response = api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": lazy.create(options["public_key"]),
            },
        },
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "PASSKEY_INVALID"
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None and account.status == "pending_activation"

    authenticator = _authenticator()
    _activate(api, authenticator)
    authenticator.user_verified = False
    response = _login(api, authenticator)
    assert response.status_code == 401 and response.json()["error"]["code"] == "LOGIN_FAILED"


def test_another_origin_is_refused(api: TestClient) -> None:
    number, code = _new_account()
    options = _options(api, "activation", eid_number=number)
    phishing = _authenticator()
    response = api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": phishing.create(options["public_key"], origin="https://e1d.example"),
            },
        },
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "PASSKEY_INVALID"


def test_a_counter_that_goes_back_is_a_clone_and_refused(api: TestClient) -> None:
    authenticator = _authenticator()
    _activate(api, authenticator)
    assert _login(api, authenticator, count=5).status_code == 201
    response = _login(api, authenticator, count=5)
    assert response.status_code == 401 and response.json()["error"]["code"] == "LOGIN_FAILED"
    assert _events("holder.passkey_clone_suspected")
    with unit_of_work() as db:
        device = db.execute(select(Device).where(Device.kind == "passkey")).scalar_one()
        assert device.sign_count == 5
    assert _login(api, authenticator, count=6).status_code == 201


def test_passkey_login_respects_locks_and_the_backoff(api: TestClient) -> None:
    authenticator = _authenticator()
    number, activated = _activate(api, authenticator)
    token = activated.json()["access_token"]
    assert api.post("/api/v1/me/lock", headers={"Authorization": f"Bearer {token}"}).is_success
    locked = _login(api, authenticator)
    assert locked.status_code == 403 and locked.json()["error"]["code"] == "ACCOUNT_LOCKED"
    unlocked = api.post(
        "/api/v1/me/unlock",
        json={"eid_number": number, "password": PASSWORD, "passcode": PASSCODE},
    )
    assert unlocked.status_code == 200, unlocked.text

    with unit_of_work() as db:
        credential = db.execute(select(HolderCredential)).scalars().one()
        credential.locked_until = clock.now() + dt.timedelta(minutes=5)
    refused = _login(api, authenticator)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "LOGIN_FAILED"
    why = [e.details for e in _events("holder.login_refused")]
    assert {"why": "backoff", "factor": "passkey"} in why


def test_wrong_signatures_count_towards_the_lockout(api: TestClient) -> None:
    authenticator = _authenticator()
    _activate(api, authenticator)
    impostor = _authenticator(credential_id=authenticator.credential_id)
    impostor.rp_id, impostor.user_handle = authenticator.rp_id, authenticator.user_handle
    for _ in range(2):
        assert _login(api, impostor).status_code == 401
    with unit_of_work() as db:
        credential = db.execute(select(HolderCredential)).scalars().one()
        assert credential.failed_attempts == 2
    assert _login(api, authenticator).status_code == 201
    with unit_of_work() as db:
        credential = db.execute(select(HolderCredential)).scalars().one()
        assert credential.failed_attempts == 0


def test_cookie_session_current_csrf_and_logout(api: TestClient) -> None:
    authenticator = _authenticator()
    number, activated = _activate(api, authenticator, cookie=True)
    body = activated.json()
    assert "access_token" not in body and set(body) == {"csrf_token", "acr", "expires_in"}
    cookie = activated.cookies.get("eid_holder_session")
    assert cookie
    assert "httponly" in activated.headers["set-cookie"].lower()
    assert "samesite=lax" in activated.headers["set-cookie"].lower()
    current = api.get(f"{SESSIONS}/current")
    assert current.status_code == 200
    assert current.json()["csrf_token"] == body["csrf_token"] == service.holder_csrf_token(cookie)
    assert current.json()["eid_number"] == number and current.json()["language"] == "en"

    # An unsafe request on the cookie needs the header; a bearer request needs none.
    forged = api.post("/api/v1/me/lock")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "CSRF_FAILED"
    wrong = api.post("/api/v1/me/lock", headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    assert api.get("/api/v1/me").status_code == 200  # a read needs none
    out = api.delete(f"{SESSIONS}/current")
    assert out.status_code == 403
    out = api.delete(f"{SESSIONS}/current", headers={"X-CSRF-Token": body["csrf_token"]})
    assert out.status_code == 204
    assert (
        'eid_holder_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    api.cookies.clear()
    gone = api.get(f"{SESSIONS}/current")
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "INVALID_SESSION"

    # A passkey login into a cookie; a cookie sign-in from another site's page is refused.
    options = _options(api, "login")
    cross = api.post(
        SESSIONS,
        headers={"Origin": "https://evil.example"},
        json={
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": authenticator.get(options["public_key"]),
            },
            "cookie": True,
        },
    )
    assert cross.status_code == 403 and cross.json()["error"]["code"] == "CROSS_ORIGIN_REQUEST"
    options = _options(api, "login")
    signed_in = api.post(
        SESSIONS,
        json={
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": authenticator.get(options["public_key"]),
            },
            "cookie": True,
        },
    )
    assert signed_in.status_code == 201, signed_in.text
    csrf = signed_in.json()["csrf_token"]
    locked = api.post("/api/v1/me/lock", headers={"X-CSRF-Token": csrf})
    assert locked.status_code == 200 and locked.json()["status"] == "locked"


def test_bearer_requests_need_no_csrf(api: TestClient) -> None:
    _, token = activate_over_api(api, OKPKey.generate_key("Ed25519"))
    response = api.post("/api/v1/me/lock", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_password_and_passcode_change(api: TestClient) -> None:
    number, token = activate_over_api(api, OKPKey.generate_key("Ed25519"))
    bearer = {"Authorization": f"Bearer {token}"}
    weak = api.post(
        "/api/v1/me/password",
        headers=bearer,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "WEAK_PASSWORD"
    wrong = api.post(
        "/api/v1/me/password",
        headers=bearer,
        json={"current_password": "Wr0ng!Pass", "new_password": "N3w!Password"},
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "WRONG_PASSWORD"
    with unit_of_work() as db:
        assert db.execute(select(HolderCredential)).scalars().one().failed_attempts == 1
    changed = api.post(
        "/api/v1/me/password",
        headers=bearer,
        json={"current_password": PASSWORD, "new_password": "N3w!Password"},
    )
    assert changed.status_code == 200, changed.text
    old = api.post(
        SESSIONS, json={"eid_number": number, "password": PASSWORD, "passcode": PASSCODE}
    )
    assert old.status_code == 401
    new = api.post(
        SESSIONS, json={"eid_number": number, "password": "N3w!Password", "passcode": PASSCODE}
    )
    assert new.status_code == 201

    easy = api.post(
        "/api/v1/me/passcode",
        headers=bearer,
        json={"password": "N3w!Password", "new_passcode": "123456"},
    )
    assert easy.status_code == 422 and easy.json()["error"]["code"] == "INVALID_PASSCODE"
    changed = api.post(
        "/api/v1/me/passcode",
        headers=bearer,
        json={"password": "N3w!Password", "new_passcode": "975310"},
    )
    assert changed.status_code == 200
    assert (
        api.post(
            SESSIONS,
            json={"eid_number": number, "password": "N3w!Password", "passcode": "975310"},
        ).status_code
        == 201
    )
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None
        from tests.support import outbox

        sent = {(m.template, m.channel) for m in outbox(db, account.id)}
    assert {("password_changed", "sms"), ("passcode_changed", "app")} <= sent
    assert {e.details.get("what") for e in _events("holder.credentials_changed")} >= {
        "password",
        "passcode",
    }


def test_wrong_current_passwords_lock_the_change_out(api: TestClient) -> None:
    _, token = activate_over_api(api, OKPKey.generate_key("Ed25519"))
    bearer = {"Authorization": f"Bearer {token}"}
    for _ in range(service.FREE_ATTEMPTS):
        api.post(
            "/api/v1/me/passcode",
            headers=bearer,
            json={"password": "Wr0ng!Pass", "new_passcode": "975310"},
        )
    refused = api.post(
        "/api/v1/me/passcode", headers=bearer, json={"password": PASSWORD, "new_passcode": "975310"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"


def _rebind_start(api: TestClient, number: str, peers: Any) -> tuple[str, str]:
    after = len(peers.sms.messages)
    started = api.post(
        "/api/v1/identity/devices/rebind", json={"eid_number": number, "password": PASSWORD}
    )
    assert started.status_code == 201, started.text
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None
        from tests.support import outbox

        texts = [m.text for m in outbox(db, account.id, "device_rebind_otp") if m.channel == "sms"]
    assert len(peers.sms.messages) >= after
    return str(started.json()["challenge_id"]), code_in(texts[-1])


def test_rebind_with_a_passkey_unbinds_the_old_device(
    api: TestClient, shared_data: Path, peers: Any
) -> None:
    faces = shared_data / "faces"
    number, code = _new_account(portrait=(faces / "df00_deepface_img1.jpg").read_bytes())
    old_key = OKPKey.generate_key("Ed25519")
    activated = api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "device": {"public_jwk": old_key.as_dict(private=False)},
        },
    )
    assert activated.status_code == 201
    challenge_id, otp = _rebind_start(api, number, peers)
    # A rebind ceremony for a challenge that is not the caller's binds nothing.
    stray = _options(api, "rebind", eid_number=number, challenge_id=str(uuid.uuid4()))
    options = _options(api, "rebind", eid_number=number, challenge_id=challenge_id)
    assert stray.keys() == options.keys()
    authenticator = _authenticator()
    selfie = base64.b64encode((faces / "df00_deepface_img2.jpg").read_bytes()).decode()
    response = api.post(
        "/api/v1/identity/devices/rebind/complete",
        json={
            "eid_number": number,
            "challenge_id": challenge_id,
            "otp": otp,
            "selfie": selfie,
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": authenticator.create(options["public_key"]),
                "label": "browser",
            },
            "cookie": True,
        },
    )
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"csrf_token", "acr", "expires_in"}
    current = api.get(f"{SESSIONS}/current").json()
    assert current["amr"] == ["pwd", "otp", "face", "hwk", "user"]
    with unit_of_work() as db:
        rows = db.execute(select(Device).order_by(Device.created_at)).scalars().all()
        assert [(d.kind, d.status) for d in rows] == [("jws", "unbound"), ("passkey", "bound")]
        handle = db.execute(select(HolderCredential)).scalars().one().passkey_user_handle
    assert handle is not None
    assert _login(api, authenticator).status_code == 201


def test_rebind_refuses_a_ceremony_of_another_account(
    api: TestClient, shared_data: Path, peers: Any
) -> None:
    faces = shared_data / "faces"
    number, code = _new_account(portrait=(faces / "df00_deepface_img1.jpg").read_bytes())
    first = _authenticator()
    options = _options(api, "activation", eid_number=number)
    api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": first.create(options["public_key"]),
            },
        },
    ).raise_for_status()
    challenge_id, otp = _rebind_start(api, number, peers)
    foreign = _options(api, "rebind", eid_number=number)  # no challenge: bound to no one
    response = api.post(
        "/api/v1/identity/devices/rebind/complete",
        json={
            "eid_number": number,
            "challenge_id": challenge_id,
            "otp": otp,
            "selfie": base64.b64encode((faces / "df00_deepface_img2.jpg").read_bytes()).decode(),
            "passkey": {
                "ceremony_id": foreign["ceremony_id"],
                "credential": _authenticator().create(foreign["public_key"]),
            },
        },
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "PASSKEY_CEREMONY_INVALID"
    assert _login(api, first).status_code == 201  # the old passkey stays bound


def test_a_malformed_answer_is_a_failed_login_and_audited(api: TestClient) -> None:
    options = _options(api, "login")
    response = api.post(
        SESSIONS,
        json={"passkey": {"ceremony_id": options["ceremony_id"], "credential": {"id": "x"}}},
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "LOGIN_FAILED"
    assert {"why": "malformed", "factor": "passkey"} in [
        e.details for e in _events("holder.login_failed")
    ]


@pytest.mark.parametrize("body", [{}, {"eid_number": "1"}, {"password": "x"}])
def test_login_needs_some_credentials(api: TestClient, body: dict[str, str]) -> None:
    response = api.post(SESSIONS, json=body)
    assert response.status_code == 422
