"""What serving the card's status list costs as it fills: building the list (the live status of
every card in it) with the bulk queries `eid.wallet.status.statuses` makes, against the earlier
way (one bound-device query per card), measured in the same run on the same rows; and the whole
signed token (JWT and CWT) a verifier downloads.

    .venv/bin/python benchmarks/status_list_bench.py [--cards 20000] [--repeat 5]

The rows are written straight into a scratch database (accounts with placeholder sealed fields,
one bound device each, a tenth of the cards on a replaced device, a twentieth of the accounts
locked): the status list reads only ids, states and lock grounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from bench_db import add_db_option
from sqlalchemy import create_engine, select, text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    add_db_option(parser)
    args = parser.parse_args()

    import os

    from eid.core.database import scratch_roles
    from eid.core.settings import get_settings

    os.environ["EID_DATABASE_URL"] = args.db
    get_settings.cache_clear()
    with scratch_roles("eid_status_bench", admin_url=args.db) as roles:
        seed(roles.owner_url, args.cards)
        run(args.cards, args.repeat)


SEED = text(
    """
    WITH people AS (
        SELECT gen_random_uuid() AS account_id, gen_random_uuid() AS device_id, n
        FROM generate_series(1, :cards) AS n
    ), new_accounts AS (
        INSERT INTO accounts (id, eid_number, registry_ref, level, status, lock_grounds,
            full_name_sealed, full_name_key, date_of_birth_sealed, sex, nationality, passport_sealed,
            residence_card_sealed, passport_expiry_date, card_expiry_date, phone_sealed,
            language, activation_attempts)
        SELECT account_id, lpad(n::text, 12, '0'), 'bench-' || n, 2, 'active',
            CASE WHEN n % 20 = 5 THEN ARRAY['self_lock']::varchar[] ELSE '{}' END,
            '\\x00', 'bench.' || n, '\\x00', 'F', 'KOR', '\\x00', '\\x00', '2031-01-01', '2030-12-31',
            '\\x00', 'en', 0
        FROM people RETURNING id
    ), new_devices AS (
        INSERT INTO holder_devices (id, account_id, label, public_jwk, status, kind, sign_count)
        SELECT device_id, account_id, 'bench', '{}'::jsonb, 'bound', 'jws', 0
        FROM people RETURNING id
    )
    INSERT INTO wallet_credentials (id, account_id, device_id, format, status_list,
        status_index, revoked_status, expires_at)
    SELECT gen_random_uuid(), account_id,
        CASE WHEN n % 10 = 0 THEN gen_random_uuid() ELSE device_id END,
        'dc+sd-jwt', '1', n, 0, now() + interval '1 year'
    FROM people
    """
)


def seed(owner_url: str, cards: int) -> None:
    engine = create_engine(owner_url)
    with engine.begin() as conn:
        conn.execute(SEED, {"cards": cards})
        conn.execute(text("ANALYZE"))
    engine.dispose()


def per_card(session: object, name: str) -> dict[int, int]:
    """The earlier way, kept here as the baseline: the bound device looked up card by card."""
    from sqlalchemy.orm import Session

    from eid.authority import service as authority
    from eid.identity.service import bound_device
    from eid.wallet.models import IssuedCredential
    from eid.wallet.status import INVALID, SUSPENDED, VALID

    assert isinstance(session, Session)
    rows = (
        session.execute(select(IssuedCredential).where(IssuedCredential.status_list == name))
        .scalars()
        .all()
    )
    usable = authority.account_states(session, list({row.account_id for row in rows}))
    out = {}
    for row in rows:
        device = bound_device(session, row.account_id)
        if row.revoked_status or device is None or device.id != row.device_id:
            out[row.status_index] = INVALID
        else:
            out[row.status_index] = VALID if usable.get(row.account_id) else SUSPENDED
    return out


def timed(work: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


def run(cards: int, repeat: int) -> None:
    from eid.core.database import unit_of_work
    from eid.wallet import certs, status

    with unit_of_work() as session:
        certs.signer(session)  # the issuing certificate, made once, outside the timings
    with unit_of_work() as session:
        bulk = status.statuses(session, "1")
        baseline = per_card(session, "1")
        assert bulk == baseline, "the two ways disagree"
        counts = {v: list(bulk.values()).count(v) for v in sorted(set(bulk.values()))}
        print(f"{cards} cards in list 1; statuses {counts} (0 valid, 1 invalid, 2 suspended)")
        slow = timed(lambda: per_card(session, "1"), max(1, repeat // 2))
        fast = timed(lambda: status.statuses(session, "1"), repeat)
        jwt = timed(lambda: status.status_list_jwt(session, "1"), repeat)
        cwt = timed(lambda: status.status_list_cwt(session, "1"), repeat)
        size_jwt = len(status.status_list_jwt(session, "1"))
        size_cwt = len(status.status_list_cwt(session, "1"))
    med = statistics.median
    print(f"baseline, one query per card : {med(slow) * 1000:8.1f} ms (median of {len(slow)})")
    print(f"one statement (PostgreSQL)  : {med(fast) * 1000:8.1f} ms (median of {len(fast)})")
    print(f"  ratio bulk / baseline      : {med(fast) / med(slow):8.3f}")
    print(f"whole signed JWT             : {med(jwt) * 1000:8.1f} ms, {size_jwt} bytes")
    print(f"whole signed CWT             : {med(cwt) * 1000:8.1f} ms, {size_cwt} bytes")
    print(f"  JWT / baseline list        : {med(jwt) / med(slow):8.3f}")


if __name__ == "__main__":
    main()
