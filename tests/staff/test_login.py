from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy.engine import Engine

from eid.core import clock
from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.core.errors import Unauthorized
from eid.staff.service import actor_for_token, create_officer, current_totp, login

ADMIN = Actor.system("tests")


def test_login_needs_password_and_fresh_totp_and_locks_after_failures(committed: Engine) -> None:
    with unit_of_work() as s:
        made = create_officer(
            s,
            username="lan.officer",
            password="a-long-password-1!",
            office="HN-01",
            role="officer",
            actor=ADMIN,
        )
    code = current_totp(made.totp_secret)
    with unit_of_work() as s:
        token, _ = login(
            s, username="lan.officer", password="a-long-password-1!", totp=code, ttl_seconds=60
        )
    with unit_of_work() as s:
        assert actor_for_token(s, token).office == "HN-01"
    with pytest.raises(Unauthorized) as replay, unit_of_work() as s:
        login(s, username="lan.officer", password="a-long-password-1!", totp=code, ttl_seconds=60)
    assert replay.value.code == "LOGIN_FAILED"
    for _ in range(5):
        with pytest.raises(Unauthorized), unit_of_work() as s:
            login(s, username="lan.officer", password="wrong", totp="000000", ttl_seconds=60)
    with pytest.raises(Unauthorized) as locked, unit_of_work() as s:
        login(
            s,
            username="lan.officer",
            password="a-long-password-1!",
            totp=pyotp.TOTP(made.totp_secret).now(),
            ttl_seconds=60,
        )
    # The lock holds even for the right password, and is not named (no username oracle).
    assert locked.value.code == "LOGIN_FAILED"
    assert locked.value.message == replay.value.message
    clock.shift(timedelta(seconds=61))
    with unit_of_work() as s:
        login(
            s,
            username="lan.officer",
            password="a-long-password-1!",
            totp=current_totp(made.totp_secret),
            ttl_seconds=60,
        )
