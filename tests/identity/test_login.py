"""Activation, password rules, device login, lockout with backoff, audited attempts."""

from __future__ import annotations

import datetime as dt

import pytest
from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import clock
from eid.core.audit import AuditEvent
from eid.core.errors import EidError, Unauthorized, ValidationFailed
from eid.identity import service
from eid.identity.passwords import password_problems
from tests.identity.factories import (
    PASSCODE,
    PASSWORD,
    TEST_ACTOR,
    make_account,
    make_holder,
    sign_nonce,
)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Str0ng!Pass", True),
        ("short1!A", True),
        ("Sh0rt!", False),
        ("nouppercase1!", False),
        ("NOLOWER1!", False),
        ("NoDigits!!", False),
        ("NoSymbol12", False),
        ("Way2Long!Password1234", False),
        ("Has Space1!", False),
    ],
)
def test_password_rules(password: str, ok: bool) -> None:
    assert (password_problems(password) == []) is ok


def test_activation_sets_credentials_and_binds_device(db: Session) -> None:
    holder = make_holder(db)
    account = authority.get_account(db, holder.account_id)
    assert account.status == "active"
    assert service.bound_device(db, holder.account_id) is not None
    assert holder.session_token


def test_activation_refuses_weak_password_and_leaves_account_pending(db: Session) -> None:
    account_id, number = make_account(db)
    code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    key = OKPKey.generate_key("Ed25519")
    with pytest.raises(ValidationFailed):
        service.activate(
            db,
            eid_number=number,
            activation_code=code,
            password="weak",
            passcode=PASSCODE,
            device_jwk=key.as_dict(private=False),
            device_label="x",
        )
    with pytest.raises(ValidationFailed):
        service.activate(
            db,
            eid_number=number,
            activation_code=code,
            password=PASSWORD,
            passcode="111111",
            device_jwk=key.as_dict(private=False),
            device_label="x",
        )
    assert authority.get_account(db, account_id).status == "pending_activation"


def test_device_login_signs_server_challenge(db: Session) -> None:
    holder = make_holder(db)
    challenge = service.new_login_challenge(db, holder.eid_number)
    issued = service.login_with_device(
        db,
        eid_number=holder.eid_number,
        password=PASSWORD,
        challenge_id=challenge.id,
        proof=holder.prove(challenge.nonce),
    )
    assert issued.acr == service.ACR_LEVEL2
    # The challenge is single-use.
    with pytest.raises(Unauthorized):
        service.login_with_device(
            db,
            eid_number=holder.eid_number,
            password=PASSWORD,
            challenge_id=challenge.id,
            proof=holder.prove(challenge.nonce),
        )


def test_device_login_refuses_another_key(db: Session) -> None:
    holder = make_holder(db)
    challenge = service.new_login_challenge(db, holder.eid_number)
    stranger = OKPKey.generate_key("Ed25519")
    with pytest.raises(Unauthorized) as err:
        service.login_with_device(
            db,
            eid_number=holder.eid_number,
            password=PASSWORD,
            challenge_id=challenge.id,
            proof=sign_nonce(stranger, challenge.nonce),
        )
    # The same answer as a wrong password: a refused proof does not confirm the password.
    assert err.value.code == "LOGIN_FAILED"
    assert err.value.keep_writes


def test_lockout_backs_off_and_every_attempt_is_audited(db: Session) -> None:
    holder = make_holder(db)
    for _ in range(service.FREE_ATTEMPTS):
        with pytest.raises(Unauthorized):
            service.login_with_passcode(
                db, eid_number=holder.eid_number, password="Wrong!Pass1", passcode=PASSCODE
            )
    # Now even the right password waits, and hears the same answer as a wrong one.
    with pytest.raises(Unauthorized) as err:
        service.login_with_passcode(
            db, eid_number=holder.eid_number, password=PASSWORD, passcode=PASSCODE
        )
    assert err.value.code == "LOGIN_FAILED"
    clock.shift(dt.timedelta(minutes=2))
    with pytest.raises(Unauthorized):
        service.login_with_passcode(
            db, eid_number=holder.eid_number, password="Wrong!Pass1", passcode=PASSCODE
        )
    clock.shift(dt.timedelta(seconds=70))  # past the first wait, not the doubled one
    with pytest.raises(Unauthorized) as err:
        service.login_with_passcode(
            db, eid_number=holder.eid_number, password=PASSWORD, passcode=PASSCODE
        )
    assert err.value.code == "LOGIN_FAILED"
    clock.shift(dt.timedelta(seconds=60))  # the doubled wait has passed: the lock expired
    service.login_with_passcode(
        db, eid_number=holder.eid_number, password=PASSWORD, passcode=PASSCODE
    )
    actions = (
        db.execute(select(AuditEvent.action).where(AuditEvent.subject_id == str(holder.account_id)))
        .scalars()
        .all()
    )
    assert actions.count("holder.login_failed") == service.FREE_ATTEMPTS + 1
    assert "holder.login_refused" in actions
    assert "holder.login" in actions
    # No secret in the audit details.
    details = (
        db.execute(
            select(AuditEvent.details).where(AuditEvent.subject_id == str(holder.account_id))
        )
        .scalars()
        .all()
    )
    assert PASSWORD not in str(details) and "Wrong!Pass1" not in str(details)


def test_locked_account_cannot_log_in(db: Session) -> None:
    holder = make_holder(db)
    authority.add_lock_ground(db, holder.account_id, "holder_request", actor=TEST_ACTOR)
    with pytest.raises(EidError) as err:
        service.login_with_passcode(
            db, eid_number=holder.eid_number, password=PASSWORD, passcode=PASSCODE
        )
    assert err.value.code == "ACCOUNT_LOCKED"
    assert holder.session_token is not None
    _, account = service.session_for_token(db, holder.session_token)
    assert not account.usable


def test_expired_one_time_material_is_purged(db: Session) -> None:
    from eid.identity.models import DeviceChallenge
    from eid.identity.tasks import purge_expired

    holder = make_holder(db)
    challenge = service.new_login_challenge(db, holder.eid_number)
    purge_expired(db)
    assert db.get(DeviceChallenge, challenge.id) is not None
    clock.shift(dt.timedelta(days=2))
    purge_expired(db)
    db.expire_all()
    assert db.get(DeviceChallenge, challenge.id) is None
