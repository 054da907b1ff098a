"""A burst of concurrent reads at a live `eid serve`: answered, shed or stalled?

    .venv/bin/python benchmarks/burst_bench.py [--db URL] [--clients 80] [--src DIR]

Starts `eid serve` on a scratch database, makes one application, then fires `--clients`
concurrent `GET /api/v1/applications/{id}` at once (each client one request, 60 s timeout) and
prints the statuses, the error codes and the latency (p50, p99, slowest). `--src` serves another
checkout's `src` (e.g. `main` exported with `git archive`) to compare with the code before.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_db import add_db_option, scratch
from schemathesis_run import free_port, officer_token, start_server, wait_ready

FORM = {
    "full_name": "PARK JI-HOON",
    "date_of_birth": "1988-03-14",
    "sex": "M",
    "nationality": "KOR",
    "passport": {
        "number": "M70012345",
        "type": "P",
        "issuing_state": "KOR",
        "issue_date": "2024-01-10",
        "expiry_date": "2033-01-09",
    },
    "residence_card": {"number": "TT7001234", "kind": "TRC", "expiry_date": "2028-12-31"},
}


def seed_person() -> None:
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.registry.schemas import PersonIn
    from eid.registry.service import add_person

    with unit_of_work() as session:
        add_person(session, PersonIn.model_validate(FORM), actor=Actor.system("bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_db_option(parser)
    parser.add_argument("--clients", type=int, default=80)
    parser.add_argument("--src", type=Path)
    args = parser.parse_args()
    with scratch(args.db, "eid_burst") as url, tempfile.TemporaryDirectory() as tmp:
        data_dir, port = Path(tmp), free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, data_dir, port, args.src)
        try:
            wait_ready(base, server, data_dir)
            seed_person()
            headers = {"Authorization": f"Bearer {officer_token(base, data_dir)}"}
            form = FORM | {"address": "12 Trang Tien, Ha Noi", "phone": "+84912345678"}
            r = httpx.post(f"{base}/api/v1/applications", json=form, headers=headers, timeout=30)
            r.raise_for_status()
            path = f"/api/v1/applications/{r.json()['id']}"
            limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=0)

            def read(client: httpx.Client) -> tuple[str, float]:
                started = time.monotonic()
                try:
                    r = client.get(path, headers=headers)
                    outcome = str(r.status_code)
                    if r.status_code != 200:
                        try:
                            code = r.json()["error"]["code"]
                        except (ValueError, KeyError, TypeError):
                            code = repr(r.text[:40])
                        outcome += f" {code} retry-after={r.headers.get('retry-after')}"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                return outcome, time.monotonic() - started

            with (
                httpx.Client(base_url=base, timeout=60, limits=limits) as client,
                ThreadPoolExecutor(max_workers=args.clients) as pool,
            ):
                started = time.monotonic()
                results = list(pool.map(lambda _: read(client), range(args.clients)))
                wall = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    times = sorted(t for _, t in results)
    print(f"{args.clients} concurrent GET {{id}} in {wall:.1f} s")
    for outcome, count in Counter(o for o, _ in results).most_common():
        print(f"  {count:4d}  {outcome}")
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"latency p50 {statistics.median(times):.2f} s, p99 {p99:.2f} s, max {times[-1]:.2f} s")


if __name__ == "__main__":
    main()
