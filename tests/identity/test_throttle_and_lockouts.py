"""Throttling, lockouts and one answer for every wrong credential, over HTTP on real PostgreSQL:
429 with Retry-After per IP and per account, a flood that cannot fill the challenge table, new
activation codes (officer and SMS), identical answers for known and unknown holders."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import OKPKey
from sqlalchemy import func, select

from eid.authority import service as authority
from eid.core import clock, throttle
from eid.core.audit import AuditEvent
from eid.core.database import unit_of_work
from eid.core.errors import Unauthorized
from eid.identity import passwords
from eid.identity import service as identity_service
from eid.identity.models import DeviceChallenge
from eid.notify.models import Notification
from eid.notify.service import message_text
from eid.staff.service import create_officer, current_totp
from tests.identity.factories import (
    PASSCODE,
    PASSWORD,
    TEST_ACTOR,
    activate_over_api,
    make_account,
)

CHALLENGES = "/api/v1/identity/challenges"


def _unknown_number() -> str:
    return f"{uuid.uuid4().int % 10**12:012d}"


def _challenge_rows() -> int:
    with unit_of_work() as db:
        return int(db.execute(select(func.count()).select_from(DeviceChallenge)).scalar_one())


def test_a_flood_of_challenges_from_one_address_stops_at_its_limit(api: TestClient) -> None:
    limit = throttle.CHALLENGE.per_ip.count
    clock.freeze()  # the rate regains nothing while the flood runs, however slow the machine
    answers = [
        api.post(CHALLENGES, json={"eid_number": _unknown_number()}) for _ in range(limit + 40)
    ]
    assert [a.status_code for a in answers[:limit]] == [201] * limit
    refused = [a for a in answers if a.status_code != 201]
    assert {a.status_code for a in refused} == {429}
    assert len(refused) == 40
    assert refused[0].json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert 1 <= int(refused[0].headers["Retry-After"]) <= 60
    # The limit's rows, however long the flood.
    assert _challenge_rows() == limit
    # The bucket refills: after Retry-After the address may ask again.
    clock.shift(dt.timedelta(seconds=int(refused[-1].headers["Retry-After"])))
    assert api.post(CHALLENGES, json={"eid_number": _unknown_number()}).status_code == 201


def test_one_account_is_limited_whichever_address_asks(api: TestClient) -> None:
    number = _unknown_number()
    limit = throttle.CHALLENGE.per_key.count if throttle.CHALLENGE.per_key else 0
    addresses = [TestClient(api.app, client=(f"192.0.2.{n}", 4000)) for n in range(limit + 1)]
    statuses = [c.post(CHALLENGES, json={"eid_number": number}).status_code for c in addresses]
    assert statuses == [201] * limit + [429]
    # Another number from the same address is still served.
    assert addresses[-1].post(CHALLENGES, json={"eid_number": _unknown_number()}).status_code == 201


def test_holder_login_is_limited_per_account_with_retry_after(api: TestClient) -> None:
    number = _unknown_number()
    body = {"eid_number": number, "password": "Wrong!Pass1", "passcode": PASSCODE}
    assert throttle.HOLDER_LOGIN.per_key is not None
    limit = throttle.HOLDER_LOGIN.per_key.count
    statuses = [api.post("/api/v1/identity/sessions", json=body).status_code for _ in range(limit)]
    assert statuses == [401] * limit
    refused = api.post("/api/v1/identity/sessions", json=body)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == refused.json()["error"]["details"]["retry_after"]


def _login(api: TestClient, number: str, password: str, passcode: str) -> Any:
    return api.post(
        "/api/v1/identity/sessions",
        json={"eid_number": number, "password": password, "passcode": passcode},
    )


def test_holder_login_answers_the_same_for_every_wrong_credential(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    number, _ = activate_over_api(api, OKPKey.generate_key("Ed25519"))
    # Count Argon2 verifications: equal work on every path is what keeps the timing equal.
    verified: list[str] = []
    real_verify = passwords.verify_secret

    def counting(stored_hash: str, candidate: str) -> bool:
        verified.append(stored_hash)
        return real_verify(stored_hash, candidate)

    monkeypatch.setattr(identity_service, "verify_secret", counting)

    def attempt(eid_number: str, password: str, passcode: str) -> tuple[int, Any, int]:
        verified.clear()
        response = _login(api, eid_number, password, passcode)
        return response.status_code, response.json(), len(verified)

    unknown = attempt(_unknown_number(), PASSWORD, PASSCODE)
    wrong_password = attempt(number, "Wrong!Pass1", PASSCODE)
    wrong_passcode = attempt(number, PASSWORD, "975310")  # the password is right
    both_wrong = attempt(number, "Wrong!Pass1", "975310")
    assert unknown == wrong_password == wrong_passcode == both_wrong
    assert unknown[0] == 401 and unknown[1]["error"]["code"] == "LOGIN_FAILED"
    assert unknown[2] == 2
    for _ in range(identity_service.FREE_ATTEMPTS - 3):  # the fifth failure starts the backoff
        attempt(number, "Wrong!Pass1", PASSCODE)
    in_backoff = attempt(number, PASSWORD, PASSCODE)  # right credentials, not let in
    assert in_backoff == unknown
    clock.shift(dt.timedelta(seconds=61))
    assert _login(api, number, PASSWORD, PASSCODE).status_code == 201  # the lock expired


def _officer(api: TestClient, role: str, username: str | None = None) -> tuple[str, Any]:
    username = username or f"off.{uuid.uuid4().hex[:8]}"
    with unit_of_work() as db:
        made = create_officer(
            db,
            username=username,
            password="Officer-Pass-1",
            office="HN-01",
            role=role,
            actor=TEST_ACTOR,
        )
    return username, made


def _officer_token(api: TestClient, role: str) -> tuple[dict[str, str], str]:
    username, made = _officer(api, role)
    login = api.post(
        "/api/v1/officer/sessions",
        json={
            "username": username,
            "password": "Officer-Pass-1",
            "totp": current_totp(made.totp_secret),
        },
    )
    assert login.status_code == 201, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}, made.id


def test_officer_login_answers_the_same_for_unknown_wrong_and_locked(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eid.staff import service as staff_service

    username, made = _officer(api, "officer")
    verified: list[str] = []
    real_verify = staff_service._verify_password

    def counting(stored_hash: str, password: str) -> bool:
        verified.append(stored_hash)
        return real_verify(stored_hash, password)

    monkeypatch.setattr(staff_service, "_verify_password", counting)

    def attempt(user: str, password: str, totp: str) -> tuple[int, Any, int]:
        verified.clear()
        response = api.post(
            "/api/v1/officer/sessions",
            json={"username": user, "password": password, "totp": totp},
        )
        return response.status_code, response.json(), len(verified)

    good_totp = current_totp(made.totp_secret)
    unknown = attempt("nobody.here", "Officer-Pass-1", good_totp)
    wrong_password = attempt(username, "wrong-password", good_totp)
    wrong_totp = attempt(username, "Officer-Pass-1", "000000")
    assert unknown == wrong_password == wrong_totp
    assert unknown[0] == 401 and unknown[1]["error"]["code"] == "LOGIN_FAILED"
    assert unknown[2] == 1
    for _ in range(3):
        attempt(username, "wrong-password", good_totp)
    locked = attempt(username, "Officer-Pass-1", current_totp(made.totp_secret))
    assert locked == unknown  # the lock holds and says nothing a stranger's name would not
    clock.shift(dt.timedelta(seconds=61))
    assert attempt(username, "Officer-Pass-1", current_totp(made.totp_secret))[0] == 201


def test_officer_login_is_limited_per_address(api: TestClient) -> None:
    limit = throttle.OFFICER_LOGIN.per_ip.count
    clock.freeze()
    statuses = [
        api.post(
            "/api/v1/officer/sessions",
            json={"username": f"ghost{n}", "password": "x" * 10, "totp": "000000"},
        ).status_code
        for n in range(limit + 5)
    ]
    assert statuses == [401] * limit + [429] * 5


def _codes_sent(account_id: uuid.UUID) -> list[tuple[str, str | None, str]]:
    with unit_of_work() as db:
        rows = db.execute(
            select(Notification)
            .where(
                Notification.recipient_id == account_id,
                Notification.template == "activation_code_renewed",
            )
            .order_by(Notification.channel)
        ).scalars()
        found = []
        for row in rows:
            code = re.search(r"\b(\d{8})\b", message_text(row))
            assert code is not None
            found.append((row.channel, row.address, code.group(1)))
        return found


def _activation(api: TestClient, number: str, code: str) -> Any:
    return api.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "device": {"public_jwk": OKPKey.generate_key("Ed25519").as_dict(private=False)},
        },
    )


def test_a_supervisor_reissues_the_activation_code_and_the_old_one_stops(
    api: TestClient,
) -> None:
    with unit_of_work() as db:
        account_id, number = make_account(db)
        old = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    path = f"/api/v1/accounts/{number}/activation-code"
    officer, _ = _officer_token(api, "officer")
    assert api.post(path, headers=officer).status_code == 403
    supervisor, supervisor_id = _officer_token(api, "supervisor")
    sent = api.post(path, headers=supervisor)
    assert sent.status_code == 202, sent.text
    assert old not in sent.text  # the officer never sees the code
    delivered = _codes_sent(account_id)
    assert [(c, a) for c, a, _ in delivered] == [
        ("email", "a@example.com"),
        ("sms", "+84901234567"),
    ]
    new = delivered[0][2]
    assert _activation(api, number, old).json()["error"]["code"] == "ACTIVATION_FAILED"
    assert _activation(api, number, new).status_code == 201
    with unit_of_work() as db:
        actors = (
            db.execute(
                select(AuditEvent.actor_id).where(
                    AuditEvent.subject_id == str(account_id),
                    AuditEvent.action == "account.activation_code_renewed",
                )
            )
            .scalars()
            .all()
        )
    assert str(supervisor_id) in actors
    assert api.post(path, headers=supervisor).json()["error"]["code"] == "ALREADY_ACTIVATED"


def _run_code_requests() -> None:
    """The worker runs what is queued (the code request, and the deliveries it makes)."""
    from eid.app import import_all_tasks
    from eid.core.jobs import Worker
    from eid.wiring import build_ports

    import_all_tasks()
    Worker(context=build_ports()).drain()


def test_the_holder_gets_a_new_code_by_sms_and_the_answer_reveals_nothing(
    api: TestClient,
) -> None:
    with unit_of_work() as db:
        account_id, number = make_account(db)
        old = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
        # A lockout from someone guessing: the holder's new code starts afresh.
        for _ in range(5):
            with pytest.raises(Unauthorized):
                authority.activate(db, number, "00000000" if old != "00000000" else "11111111")
    path = "/api/v1/identity/activation/code-request"
    known = api.post(path, json={"eid_number": number})
    unknown = api.post(path, json={"eid_number": _unknown_number()})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    assert _codes_sent(account_id) == []  # the look-up runs in a job, the same for any number
    _run_code_requests()
    delivered = _codes_sent(account_id)
    assert [(c, a) for c, a, _ in delivered] == [("sms", "+84901234567")]  # the phone only
    assert _activation(api, number, old).json()["error"]["code"] == "ACTIVATION_FAILED"
    assert _activation(api, number, delivered[0][2]).status_code == 201
    # Asking again for an activated account answers the same and sends nothing.
    again = api.post(path, json={"eid_number": number})
    assert (again.status_code, again.json()) == (known.status_code, known.json())
    _run_code_requests()
    assert len(_codes_sent(account_id)) == 1


def test_code_requests_are_limited_per_number(api: TestClient) -> None:
    assert throttle.ACTIVATION_CODE_REQUEST.per_key is not None
    limit = throttle.ACTIVATION_CODE_REQUEST.per_key.count
    number = _unknown_number()
    addresses = [TestClient(api.app, client=(f"198.51.100.{n}", 4000)) for n in range(limit + 1)]
    statuses = [
        c.post("/api/v1/identity/activation/code-request", json={"eid_number": number}).status_code
        for c in addresses
    ]
    assert statuses == [202] * limit + [429]
