"""Load scenario: `eid serve --workers 2` + one `eid worker` on a scratch database, driven by
locust (headless, bounded time), with a table of p50/p99 per endpoint.

    .venv/bin/python -m pip install locust      # not in the dev extra: it brings gevent, flask
    .venv/bin/python benchmarks/load/run_load.py [--db URL] [--seconds 60] [--clients 200]

Steps, each against the same servers:
1. baseline: GET /healthz as fast as 20 users can (the ratio's denominator: this machine, now);
2. clerks: `--clients` officers at once creating TK01 applications and reading them back
   (1-3 s between actions); every answer must be 2xx: a shed 503 or a 429 counts as an error;
3. peak: the national peak x10, 4,000 applications a day across 20 offices, over an 8-hour
   working day (4,000 / 28,800 s = 0.139 applications/s, one every 144 s per office), each
   office's console polling its applications once a second, plus `--logins` eKYC logins a
   second (50: the whole OIDC code flow of an activated holder, 6 requests, two Argon2id), by as
   many users each aiming at one login a second; closed loop: a user starts its next login only
   when the last is done, so a saturated server is offered less, and the table says what it got.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from auth_bench import PASSCODE, PASSWORD, REDIRECT, setup  # noqa: E402
from bench_db import add_db_option, scratch  # noqa: E402
from schemathesis_run import free_port  # noqa: E402

OFFICES = 20
APPLICATIONS_PER_DAY = 4_000
WORKING_DAY_SECONDS = 8 * 3600


def seed_officers() -> list[tuple[str, str]]:
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.staff.service import create_officer

    made = []
    with unit_of_work() as session:
        for i in range(OFFICES):
            officer = create_officer(
                session,
                username=f"load.clerk{i:02d}",
                password="load-clerk-password-1!",
                office=f"LD-{i:02d}",
                role="officer",
                actor=Actor.system("load"),
            )
            made.append((officer.username, officer.totp_secret))
    return made


def seed_registry(count: int) -> list[str]:
    """People in the reference immigration database whose passports the clerks enrol."""
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.registry.schemas import PersonIn
    from eid.registry.service import add_person

    numbers = [f"M{70_000_000 + i:08d}" for i in range(count)]
    with unit_of_work() as session:
        for i, number in enumerate(numbers):
            person = {
                "full_name": "LOAD TEST PERSON",
                "date_of_birth": "1988-03-14",
                "sex": "F",
                "nationality": "KOR",
                "passport": {
                    "number": number,
                    "type": "P",
                    "issuing_state": "KOR",
                    "issue_date": "2024-01-10",
                    "expiry_date": "2033-01-09",
                },
                "residence_card": {
                    "number": f"TT{7_000_000 + i:07d}",
                    "kind": "TRC",
                    "expiry_date": "2028-12-31",
                },
            }
            add_person(session, PersonIn.model_validate(person), actor=Actor.system("load"))
    return numbers


def officer_tokens(base: str, officers: list[tuple[str, str]]) -> list[str]:
    import pyotp

    tokens = []
    for i, (username, secret) in enumerate(officers):
        r = httpx.post(
            f"{base}/api/v1/officer/sessions",
            json={
                "username": username,
                "password": "load-clerk-password-1!",
                "totp": pyotp.TOTP(secret).now(),
            },
            headers={"X-Forwarded-For": f"10.0.0.{i + 1}"},  # each office its own address
            timeout=30,
        )
        r.raise_for_status()
        tokens.append(r.json()["access_token"])
    return tokens


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from eid.cli import main; main()", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def locust(
    step: str, users: int, seconds: int, base: str, out: Path, env: dict[str, str]
) -> list[dict[str, str]]:
    prefix = out / step
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(max(10, users // 5)),
            "--run-time",
            f"{seconds}s",
            "--host",
            base,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env=env | {"EID_LOAD_STEP": step},
        check=False,
        stdout=subprocess.DEVNULL,
    )
    with (out / f"{step}_stats.csv").open() as f:
        return list(csv.DictReader(f))


def table(step: str, rows: list[dict[str, str]], baseline: float) -> None:
    print(f"\n{step}")
    print(
        f"  {'endpoint':44} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'x healthz':>9}"
    )
    for row in rows:
        name = row["Name"] if row["Type"] != "" else "all"
        rate = float(row["Requests/s"])
        print(
            f"  {name[:44]:44} {row['Request Count']:>8} {row['Failure Count']:>6} "
            f"{rate:7.1f} {row['50%']:>7} {row['99%']:>7} {rate / baseline:9.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_db_option(parser)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--logins", type=float, default=50.0, help="eKYC logins per second")
    # Enough that no holder logs in more than the per-account limit allows (10 in 15 minutes).
    parser.add_argument("--holders", type=int, default=400)
    parser.add_argument("--people", type=int, default=4000, help="registry people to enrol")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="eid-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    os.environ.update(
        EID_KEYS_DIR=str(tmp / "keys"),
        EID_ENV="development",
        EID_ISSUER=base,
        EID_DATA_DIR=str(tmp),
        EID_JSON_LOGS="true",
        # locust's users each name their own address (X-Forwarded-For), as behind a proxy.
        EID_TRUSTED_PROXIES="127.0.0.1",
    )
    with scratch(args.db, "eid_load") as url:
        print(f"seeding {OFFICES} officers and {args.holders} activated holders ...", flush=True)
        officers = seed_officers()
        passports = seed_registry(args.people)
        client_id, secret, _, holders = setup(0, args.holders)
        env = os.environ | {"EID_DATABASE_URL": url}
        servers = start(["serve", "--workers", "2", "--port", str(port)], env, tmp / "serve.log")
        worker = start(["worker", "--concurrency", "2"], env, tmp / "worker.log")
        try:
            deadline = time.monotonic() + 120
            while True:
                if servers.poll() is not None:
                    raise SystemExit(f"server exited; see {tmp / 'serve.log'}")
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start in 120 s")
                time.sleep(0.5)
            setup_file = tmp / "setup.json"
            setup_file.write_text(
                json.dumps(
                    {
                        "officer_tokens": officer_tokens(base, officers),
                        "holders": [number for number, _ in holders],
                        "passports": passports,
                        "client_id": client_id,
                        "client_secret": secret,
                        "redirect": REDIRECT,
                        "password": PASSWORD,
                        "passcode": PASSCODE,
                    }
                )
            )
            per_second = APPLICATIONS_PER_DAY / WORKING_DAY_SECONDS
            login_users = max(1, round(args.logins))
            load_env = os.environ | {
                "EID_LOAD_SETUP": str(setup_file),
                "EID_LOAD_CLERK_RATE": str(per_second / OFFICES),
                "EID_LOAD_LOGIN_RATE": str(args.logins / login_users),
            }
            load_before = os.getloadavg()[0]
            base_rows = locust("baseline", 20, min(20, args.seconds), base, tmp, load_env)
            baseline = float(base_rows[-1]["Requests/s"])
            clerks = locust("clerks", args.clients, args.seconds, base, tmp, load_env)
            # The peak step enrols people the clerks step did not.
            enrolled = sum(
                int(r["Request Count"]) for r in clerks if r["Name"] == "POST /api/v1/applications"
            )
            # + one per user: a request still in flight when the step stopped is not counted.
            load_env["EID_LOAD_PASSPORT_OFFSET"] = str(enrolled + args.clients)
            peak = locust("peak", OFFICES + login_users, args.seconds, base, tmp, load_env)
            load_after = os.getloadavg()[0]
        finally:
            for process in (servers, worker):
                process.terminate()
            for process in (servers, worker):
                process.wait(timeout=30)
    cpus = os.cpu_count()
    print(
        f"\n{cpus} vCPU shared by 2 server processes, 1 worker, PostgreSQL and locust; 1-min load "
        f"average {load_before:.1f} before, {load_after:.1f} after (other work on the machine)"
    )
    print(
        f"peak x10: {APPLICATIONS_PER_DAY} applications/day over {OFFICES} offices and 8 h = "
        f"{per_second:.3f} applications/s ({per_second / OFFICES:.4f}/s per office), plus "
        f"{args.logins:g} eKYC logins/s offered ({login_users} users)"
    )
    table(f"baseline: GET /healthz, 20 users ({baseline:.0f} req/s)", base_rows, baseline)
    table(f"clerks: {args.clients} concurrent officers, {args.seconds} s", clerks, baseline)
    table(f"peak x10, {args.seconds} s", peak, baseline)
    print(f"\nlogs and CSVs: {tmp}")


if __name__ == "__main__":
    main()
