"""What a supervisor's profile search by full name costs as accounts grow: the blind index
(`eid.authority.service.find_by_name`, one indexed look-up) against the earlier way (unseal every
living account's name and compare), measured in the same run on the same rows.

    .venv/bin/python benchmarks/name_search_bench.py [--accounts 20000] [--repeat 5]

The accounts are written straight into a scratch database, every field sealed (and the name
indexed) as the model does (`Sealed.columns`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import uuid
from collections.abc import Callable

from bench_db import add_db_option
from sqlalchemy import create_engine, insert, select, text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    add_db_option(parser)
    args = parser.parse_args()

    from eid.core.database import scratch_roles
    from eid.core.settings import get_settings

    os.environ["EID_DATABASE_URL"] = args.db
    get_settings.cache_clear()
    with scratch_roles("eid_name_bench", admin_url=args.db) as roles:
        seed(roles.owner_url, args.accounts)
        run(args.accounts, args.repeat)


def name_of(n: int) -> str:
    return f"PERSON {n:06d} BENCH"


def seed(owner_url: str, accounts: int) -> None:
    from eid.authority.models import Account

    born = dt.date(1990, 1, 1)
    passport = {"number": "M00000000", "type": "P", "issuing_state": "KOR"}
    card = {"number": "TT0000000", "kind": "TRC"}
    rows = []
    for n in range(accounts):
        row_id = uuid.uuid4()
        rows.append(
            {
                "id": row_id,
                "eid_number": f"{n:012d}",
                "registry_ref": f"bench-{n}",
                "level": 2,
                "status": "closed" if n % 50 == 7 else "active",
                "lock_grounds": [],
                **Account.full_name.columns(row_id, name_of(n % (accounts - 10))),  # namesakes
                **Account.date_of_birth.columns(row_id, born),
                "sex": "F",
                "nationality": "KOR",
                **Account.passport.columns(row_id, passport),
                **Account.residence_card.columns(row_id, card),
                "passport_expiry_date": "2031-01-01",
                "card_expiry_date": "2030-12-31",
                **Account.phone.columns(row_id, "+84912345678"),
                "language": "en",
                "activation_attempts": 0,
            }
        )
    engine = create_engine(owner_url)
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Account.__table__), rows[start : start + 5000])
        conn.execute(text("ANALYZE"))
    engine.dispose()


def unseal_all(session: object, full_name: str, limit: int = 20) -> list[str]:
    """The earlier way, kept here as the baseline: every living account's name unsealed."""
    from sqlalchemy.orm import Session

    from eid.authority.models import Account
    from eid.core.sealed import normalise_name

    assert isinstance(session, Session)
    wanted = normalise_name(full_name)
    found: list[str] = []
    for account in session.execute(
        select(Account).where(Account.status != "closed").order_by(Account.created_at.desc())
    ).scalars():
        if normalise_name(account.full_name) == wanted:
            found.append(account.eid_number)
            if len(found) >= limit:
                break
    session.expunge_all()
    return found


def timed(work: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


def run(accounts: int, repeat: int) -> None:
    from eid.authority.service import find_by_name
    from eid.core.database import unit_of_work

    wanted = name_of(3).lower()  # a name two accounts share
    with unit_of_work() as session:
        fast = sorted(a.eid_number for a in find_by_name(session, wanted))
        slow = sorted(unseal_all(session, wanted))
        assert fast == slow and len(fast) == 2, (fast, slow)
        baseline = timed(lambda: unseal_all(session, wanted), max(1, repeat // 2))
        indexed = timed(lambda: find_by_name(session, wanted), repeat)
    med = statistics.median
    print(f"{accounts} accounts; '{wanted}' held by {len(fast)}")
    print(
        f"baseline, unseal every name : {med(baseline) * 1000:9.1f} ms (median of {len(baseline)})"
    )
    print(f"blind index (find_by_name)  : {med(indexed) * 1000:9.1f} ms (median of {len(indexed)})")
    print(f"  ratio index / baseline     : {med(indexed) / med(baseline):9.5f}")


if __name__ == "__main__":
    main()
