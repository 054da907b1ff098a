"""The one source of time, so tests and the demo can move it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

_offset = dt.timedelta(0)
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    return (_frozen or dt.datetime.now(dt.UTC)) + _offset


def today_vn() -> dt.date:
    """Legal dates (validity on the day, deadlines) are Viet Nam dates."""
    return now().astimezone(VIETNAM).date()


def shift(delta: dt.timedelta) -> None:
    """Move the clock (tests and the demo's simulated day only)."""
    global _offset
    _offset += delta


def freeze() -> None:
    """Stop the clock where it is (tests of rates, whose outcome must not depend on how fast a
    loaded machine answers); `shift` still moves it, `reset` lets it run again."""
    global _frozen
    _frozen = dt.datetime.now(dt.UTC)


def reset() -> None:
    global _offset, _frozen
    _offset = dt.timedelta(0)
    _frozen = None
