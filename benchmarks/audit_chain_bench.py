"""What the audit hash chain costs: commit latency of a one-event transaction with the chain
trigger and without it, alone and with several writers at once, and `verify`'s speed.

    .venv/bin/python benchmarks/audit_chain_bench.py [--transactions 500] [--writers 4]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from bench_db import add_db_option, scratch
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=500)
    parser.add_argument("--writers", type=int, default=4)
    add_db_option(parser)
    args = parser.parse_args()
    with scratch(args.db, "eid_chain_bench") as url:
        run(url, args.transactions, args.writers, args.db)


def _commit_times(n: int, writers: int) -> list[float]:
    from eid.core import audit
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work

    actor = Actor(kind="system", id="bench", role="system")
    times: list[float] = []
    lock = threading.Lock()

    def write(count: int) -> None:
        mine = []
        for i in range(count):
            started = time.perf_counter()
            with unit_of_work() as session:
                audit.record(session, actor, "bench.event", "bench", str(i), details={"i": i})
            mine.append(time.perf_counter() - started)
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=write, args=(n // writers,)) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def _bulk_commit(rows: int) -> float:
    """One transaction that logs `rows` events: the chain's per-row work, without round trips."""
    from eid.core import audit
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work

    actor = Actor(kind="system", id="bench", role="system")
    started = time.perf_counter()
    with unit_of_work() as session:
        for i in range(rows):
            audit.record(session, actor, "bench.bulk", "bench", str(i), details={"i": i})
    return time.perf_counter() - started


def _row(label: str, times: list[float], wall: float) -> str:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[int(len(ms) * 0.99) - 1]
    return (
        f"| {label} | {len(ms)} | {statistics.median(ms):.2f} | {p99:.2f} | {len(ms) / wall:.0f} |"
    )


def run(url: str, n: int, writers: int, server: str) -> None:
    from sqlalchemy.orm import Session

    from eid.core.audit_chain import verify
    from eid.core.crypto import get_keystore
    from eid.core.database import get_engine

    owner_url = make_url(url)
    owner = create_engine(
        make_url(server).set(database=owner_url.database).render_as_string(hide_password=False)
    )
    print("| case | commits | p50 ms | p99 ms | commits/s |\n|---|---|---|---|---|")
    for chained in (True, False):
        with owner.begin() as conn:
            verb = "ENABLE" if chained else "DISABLE"
            conn.execute(text(f"ALTER TABLE audit_events {verb} TRIGGER audit_events_chain"))
        for w in (1, writers):
            started = time.perf_counter()
            times = _commit_times(n, w)
            wall = time.perf_counter() - started
            label = f"{'chain' if chained else 'no chain'}, {w} writer{'s' if w > 1 else ''}"
            print(_row(label, times, wall))
        bulk = _bulk_commit(2000)
        print(
            f"| {'chain' if chained else 'no chain'}, 2000 rows in one transaction | 1 | "
            f"{bulk * 1000:.0f} (total) | | {bulk / 2000 * 1e6:.0f} µs/row |"
        )
    with owner.begin() as conn:
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_chain"))
    owner.dispose()
    with get_engine().connect() as conn, Session(bind=conn) as session:
        started = time.perf_counter()
        report = verify(session, get_keystore())
        took = time.perf_counter() - started
    print(f"\nverify: {report.rows} chained rows in {took:.2f} s ({report.rows / took:.0f} rows/s)")


if __name__ == "__main__":
    main()
