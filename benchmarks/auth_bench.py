"""Level-2 authentication throughput: token endpoint and full logins, against raw signing.

Run: .venv/bin/python benchmarks/auth_bench.py [--grants 600] [--logins 60] [--concurrency 8]

The real application (`create_app()`) runs in its own process under uvicorn with one worker
(one Python process: at most one vCPU of Python work, plus PostgreSQL). The load comes from this
process over HTTP with keep-alive clients in threads.

- token endpoint: `authorization_code` grants with PKCE (S256) and client_secret_basic, each one
  checking the code, the verifier, the account's status, signing an ES256 id_token, storing the
  hashed tokens and marking the code used. Codes are pre-inserted in the database (the
  authorize step is a browser round trip, not the token endpoint's cost).
- refresh grants: rotation (old pair revoked, new pair stored).
- raw signing: the same ES256 key (loaded from its table and unsealed) signing the same kind of
  id_token in a loop in this process, same run.
- full login: POST /api/v1/identity/sessions with e-ID number + password + passcode: two
  Argon2id verifications (19 MiB, t=2, p=1), the lockout row, the audit event, the session.
- device login (the app's Level 2): challenge, then password + Ed25519 signature over it (one
  Argon2id verification); two HTTP requests per login.

Anchor (Keycloak's published sizing guide): 15 password logins/s and 120 token grants/s per vCPU.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import os
import queue
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from bench_db import add_db_option, scratch

KEYCLOAK_LOGINS_PER_VCPU = 15
KEYCLOAK_GRANTS_PER_VCPU = 120
PASSWORD = "Str0ng!Pass"  # noqa: S105 - synthetic holders of a throwaway database
PASSCODE = "246813"
REDIRECT = "https://bank.example/cb"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to turn rates into per-vCPU rates."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def load(n: int, concurrency: int, base: str, make: Callable[[httpx.Client, int], None]) -> float:
    """Run n calls over `concurrency` threads; returns calls per second."""
    jobs: queue.Queue[int] = queue.Queue()
    for i in range(n):
        jobs.put(i)
    errors: list[BaseException] = []

    def spread(request: httpx.Request) -> None:
        # Many clients behind one trusted proxy (the server trusts 127.0.0.1): the per-address
        # limits (core.throttle) see a crowd, as in production, not one address.
        request.headers["x-forwarded-for"] = f"10.{random.randrange(256)}.{random.randrange(256)}.1"

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=60, event_hooks={"request": [spread]}) as client:
            while True:
                try:
                    i = jobs.get_nowait()
                except queue.Empty:
                    return
                try:
                    make(client, i)
                except BaseException as exc:  # surfaced after the run
                    errors.append(exc)
                    return

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grants", type=int, default=600)
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    add_db_option(parser)
    args = parser.parse_args()
    port = free_port()
    keys_dir = Path(tempfile.mkdtemp(prefix="eid-authbench-keys-"))
    os.environ.update(
        EID_KEYS_DIR=str(keys_dir), EID_ENV="development", EID_ISSUER=f"http://127.0.0.1:{port}"
    )
    with scratch(args.db, "eid_authbench") as url:
        run(url, port, args)


def setup(
    n_codes: int, n_holders: int
) -> tuple[str, str, list[tuple[str, str]], list[tuple[str, Any]]]:
    from joserfc.jwk import OKPKey

    from eid.authority import service as authority
    from eid.authority.schemas import AccountRequestMessage
    from eid.core import clock
    from eid.core.audit import Actor
    from eid.core.crypto import hash_token
    from eid.core.database import unit_of_work
    from eid.identity import keys
    from eid.identity import service as identity
    from eid.identity.clients import create_client
    from eid.identity.models import AuthorizationCode

    actor = Actor(kind="system", id="bench", role="admin")
    numbers: list[str] = []
    device_keys: list[Any] = []
    with unit_of_work() as db:
        client_id, secret = create_client(
            db,
            name="Bench Bank",
            redirect_uris=[REDIRECT],
            scopes=["openid", "ekyc_basic"],
            purpose="benchmark",
            actor=actor,
        )
        keys.active_key(db)
        for i in range(n_holders):
            message = AccountRequestMessage(
                request_id=f"bench-{i}-{uuid.uuid4()}",
                application_id=str(uuid.uuid4()),
                registry_ref=f"BENCH-{i}-{secrets.token_hex(4)}",
                full_name=f"BENCH HOLDER {i}",
                date_of_birth=dt.date(1990, 1, 1),
                sex="F",
                nationality="JPN",
                passport={
                    "number": f"TK{i:07d}",
                    "type": "P",
                    "issuing_state": "JPN",
                    "issue_date": "2022-01-01",
                    "expiry_date": "2032-01-01",
                },
                residence_card={"number": f"TT{i:07d}", "kind": "TRC", "expiry_date": "2030-12-31"},
                phone="+84900000000",
                language="en",
                sent_at=clock.now(),
            )
            decision = authority.receive_account_request(
                db, message, authority.sign_request(message), portrait=None
            )
            assert decision.account_id is not None
            account = authority.get_account(db, decision.account_id)
            code = authority.new_activation_code(db, account.id, actor=actor)
            device_key = OKPKey.generate_key("Ed25519")
            device_keys.append(device_key)
            identity.activate(
                db,
                eid_number=account.eid_number,
                activation_code=code,
                password=PASSWORD,
                passcode=PASSCODE,
                device_jwk=device_key.as_dict(private=False),
                device_label="bench",
            )
            numbers.append(account.eid_number)
        first = authority.find_by_eid_number(db, numbers[0])
        assert first is not None
        codes: list[tuple[str, str]] = []
        for _ in range(n_codes):
            code, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
            db.add(
                AuthorizationCode(
                    code_hash=hash_token(code),
                    client_id=client_id,
                    account_id=first.id,
                    redirect_uri=REDIRECT,
                    scope="openid ekyc_basic",
                    nonce=secrets.token_hex(8),
                    code_challenge=s256(verifier),
                    code_challenge_method="S256",
                    auth_time=int(time.time()),
                    acr=identity.ACR_LEVEL2,
                    amr=["pwd", "hwk"],
                    expires_at=clock.now() + dt.timedelta(hours=1),
                )
            )
            codes.append((code, verifier))
    return client_id, secret, codes, list(zip(numbers, device_keys, strict=True))


def raw_signing_rate(seconds: float = 2.0) -> float:
    from joserfc import jwt

    from eid.core.database import unit_of_work
    from eid.identity import keys

    with unit_of_work() as db:
        kid, key = keys.active_key(db)
    claims = {
        "iss": os.environ["EID_ISSUER"],
        "aud": "rp_x",
        "sub": "s" * 43,
        "iat": 1,
        "exp": 2,
        "auth_time": 1,
        "acr": "urn:eid:vn:level2",
        "amr": ["pwd", "hwk"],
        "nonce": "n" * 16,
        "at_hash": "h" * 22,
    }
    header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        jwt.encode(header, claims, key, algorithms=["ES256"])
        n += 1
    return n / (time.perf_counter() - start)


def argon2_rate(seconds: float = 2.0) -> float:
    from eid.identity.passwords import hash_secret, verify_secret

    stored = hash_secret(PASSWORD)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        verify_secret(stored, PASSWORD)
        n += 1
    return n / (time.perf_counter() - start)


def run(url: str, port: int, args: argparse.Namespace) -> None:
    from sqlalchemy import create_engine as make_engine

    from eid.core.database import configure_engine
    from eid.core.schema import upgrade

    upgrade(url)
    configure_engine(make_engine(url, pool_size=4))
    # Enough holders that no e-ID number goes over its own login limit (10 per 15 minutes).
    holders = max(4, args.concurrency, args.logins // 4)
    print(f"setting up: {args.grants} codes, {holders} activated holders ...", flush=True)
    client_id, secret, codes, holders_ = setup(args.grants * 2, holders)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "eid.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, "EID_TRUSTED_PROXIES": "127.0.0.1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        report(base, client_id, secret, codes, holders_, args, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)


def report(
    base: str,
    client_id: str,
    secret: str,
    codes: list[tuple[str, str]],
    holders: list[tuple[str, Any]],
    args: argparse.Namespace,
    server_pid: int,
) -> None:
    from joserfc import jws

    numbers = [number for number, _ in holders]
    auth = (client_id, secret)
    refresh_tokens: list[str] = []
    warm, measured = codes[: args.grants // 10], codes[args.grants // 10 : args.grants]

    def grant_with(batch: list[tuple[str, str]]) -> Callable[[httpx.Client, int], None]:
        def grant(client: httpx.Client, i: int) -> None:
            code, verifier = batch[i]
            r = client.post(
                "/oauth2/token",
                auth=auth,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                },
            )
            if r.status_code != 200 or "id_token" not in r.json():
                raise RuntimeError(f"token endpoint: {r.status_code} {r.text}")
            refresh_tokens.append(r.json()["refresh_token"])

        return grant

    load(len(warm), args.concurrency, base, grant_with(warm))
    cpu0 = cpu_seconds(server_pid)
    grants = load(len(measured), args.concurrency, base, grant_with(measured))
    grants_per_cpu = len(measured) / (cpu_seconds(server_pid) - cpu0)

    fresh = refresh_tokens[-len(measured) :]

    def refresh(client: httpx.Client, i: int) -> None:
        r = client.post(
            "/oauth2/token",
            auth=auth,
            data={"grant_type": "refresh_token", "refresh_token": fresh[i]},
        )
        if r.status_code != 200:
            raise RuntimeError(f"refresh: {r.status_code} {r.text}")

    cpu0 = cpu_seconds(server_pid)
    refreshes = load(len(fresh), args.concurrency, base, refresh)
    refreshes_per_cpu = len(fresh) / (cpu_seconds(server_pid) - cpu0)
    signing = raw_signing_rate()

    def login(client: httpx.Client, i: int) -> None:
        r = client.post(
            "/api/v1/identity/sessions",
            json={
                "eid_number": numbers[i % len(numbers)],
                "password": PASSWORD,
                "passcode": PASSCODE,
            },
        )
        if r.status_code != 201:
            raise RuntimeError(f"login: {r.status_code} {r.text}")

    cpu0 = cpu_seconds(server_pid)
    logins = load(args.logins, args.concurrency, base, login)
    logins_per_cpu = args.logins / (cpu_seconds(server_pid) - cpu0)

    def device_login(client: httpx.Client, i: int) -> None:
        number, key = holders[i % len(holders)]
        challenge = client.post("/api/v1/identity/challenges", json={"eid_number": number}).json()
        proof = jws.serialize_compact(
            {"alg": "EdDSA"}, challenge["nonce"].encode(), key, algorithms=["EdDSA"]
        )
        r = client.post(
            "/api/v1/identity/sessions",
            json={
                "eid_number": number,
                "password": PASSWORD,
                "challenge_id": challenge["challenge_id"],
                "proof": proof,
            },
        )
        if r.status_code != 201:
            raise RuntimeError(f"device login: {r.status_code} {r.text}")

    cpu0 = cpu_seconds(server_pid)
    device_logins = load(args.logins, args.concurrency, base, device_login)
    device_logins_per_cpu = args.logins / (cpu_seconds(server_pid) - cpu0)
    argon = argon2_rate()

    cpus = os.cpu_count() or 1
    rows = [
        ("raw ES256 signing, same key, this process", signing, None, None),
        (
            "token: authorization_code + PKCE + id_token",
            grants,
            grants_per_cpu,
            KEYCLOAK_GRANTS_PER_VCPU,
        ),
        ("token: refresh with rotation", refreshes, refreshes_per_cpu, KEYCLOAK_GRANTS_PER_VCPU),
        ("raw Argon2id verify (19 MiB, t=2, p=1)", argon, None, None),
        (
            "full login: password + passcode (2 Argon2id)",
            logins,
            logins_per_cpu,
            KEYCLOAK_LOGINS_PER_VCPU,
        ),
        (
            "device login: password + device signature",
            device_logins,
            device_logins_per_cpu,
            KEYCLOAK_LOGINS_PER_VCPU,
        ),
    ]
    print()
    print(f"machine: {cpus} vCPU shared by the server (1 uvicorn worker), PostgreSQL and the")
    print(
        f"load generator ({args.concurrency} keep-alive clients). 'per server CPU-s' divides by the"
    )
    print("server process's own CPU time (Linux /proc), i.e. requests per vCPU of the server.")
    print()
    print(f"{'':46} {'wall /s':>9} {'per server CPU-s':>17} {'Keycloak /vCPU':>15} {'ratio':>6}")
    for label, wall, per_cpu, anchor in rows:
        cells = f"{label:46} {wall:9.1f}"
        if per_cpu is not None and anchor is not None:
            cells += f" {per_cpu:17.1f} {anchor:15d} {per_cpu / anchor:6.2f}"
        print(cells)
    print()
    print(f"token endpoint (wall) / raw signing of the same key: {grants / signing:.2%}; the rest")
    print("is HTTP, Authlib, and six database round trips with one durable commit per grant.")


if __name__ == "__main__":
    main()
