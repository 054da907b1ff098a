"""core.throttle against real PostgreSQL: the bucket, the client address, the backoff rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.requests import Request

from eid.core import clock, throttle
from eid.core.database import unit_of_work
from eid.core.settings import get_settings
from eid.core.throttle import Limit, Policy, ThrottleBucket, TooManyRequests

POLICY = Policy("test", Limit(3, dt.timedelta(minutes=1)), Limit(2, dt.timedelta(hours=1)))


def test_an_ip_gets_its_limit_then_waits_for_the_next_token(committed: Engine) -> None:
    for _ in range(3):
        throttle.hit(POLICY, "192.0.2.1")
    with pytest.raises(TooManyRequests) as refused:
        throttle.hit(POLICY, "192.0.2.1")
    assert refused.value.status == 429 and refused.value.code == "TOO_MANY_REQUESTS"
    assert refused.value.retry_after == 20  # one token every 60 s / 3
    throttle.hit(POLICY, "192.0.2.2")  # another address has its own bucket
    clock.shift(dt.timedelta(seconds=refused.value.retry_after))
    throttle.hit(POLICY, "192.0.2.1")
    with pytest.raises(TooManyRequests):
        throttle.hit(POLICY, "192.0.2.1")


def test_a_key_is_limited_across_addresses_and_stored_hashed(committed: Engine) -> None:
    throttle.hit(POLICY, "192.0.2.1", "012345678901")
    throttle.hit(POLICY, "192.0.2.2", "012345678901")
    with pytest.raises(TooManyRequests) as refused:
        throttle.hit(POLICY, "192.0.2.3", "012345678901")
    assert 1700 < refused.value.retry_after <= 1800
    throttle.hit(POLICY, "192.0.2.3", "999999999999")
    with unit_of_work() as db:
        keys = db.execute(select(ThrottleBucket.key)).scalars().all()
    assert keys and not any("012345678901" in k or "999999999999" in k for k in keys)


def test_a_refused_ip_does_not_spend_the_keys_budget(committed: Engine) -> None:
    for n in range(3):
        throttle.hit(POLICY, "192.0.2.9", f"other-{n}")
    for _ in range(5):
        with pytest.raises(TooManyRequests):
            throttle.hit(POLICY, "192.0.2.9", "victim")
    throttle.hit(POLICY, "192.0.2.10", "victim")
    throttle.hit(POLICY, "192.0.2.10", "victim")


def test_expired_buckets_are_pruned(committed: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(20):
        throttle.hit(POLICY, f"198.51.100.{n}")
    clock.shift(dt.timedelta(minutes=2))
    monkeypatch.setattr(throttle, "_PRUNE_ONE_IN", 1)
    throttle.hit(POLICY, "198.51.100.200")
    with unit_of_work() as db:
        assert db.execute(select(func.count()).select_from(ThrottleBucket)).scalar_one() == 1


def _request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 4000), "headers": headers})


@pytest.fixture
def trusted_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EID_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_forwarded_for_is_ignored_without_a_trusted_proxy() -> None:
    assert throttle.client_ip(_request("203.0.113.5", "198.51.100.7")) == "203.0.113.5"


def test_forwarded_for_is_read_from_a_trusted_proxy_only(trusted_proxy: None) -> None:
    # The nearest untrusted hop is the client; what it wrote further left is not believed.
    assert throttle.client_ip(_request("10.1.2.3", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    assert throttle.client_ip(_request("10.1.2.3", "198.51.100.7, 10.9.9.9")) == "198.51.100.7"
    assert throttle.client_ip(_request("203.0.113.5", "198.51.100.7")) == "203.0.113.5"
    assert throttle.client_ip(_request("10.1.2.3", "junk, 10.9.9.9")) == "10.9.9.9"
    assert throttle.client_ip(_request("10.1.2.3")) == "10.1.2.3"


def test_lockout_wait_doubles_to_its_cap_and_starts_after_the_free_attempts() -> None:
    cap = dt.timedelta(hours=1)
    waits = [throttle.lockout_wait(n, free=5, cap=cap) for n in range(1, 14)]
    assert waits[:4] == [None] * 4
    assert [w.total_seconds() for w in waits[4:] if w] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
        3600,
    ]
