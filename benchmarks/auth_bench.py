"""Level-2 authentication throughput: the token endpoint beside panva's `oidc-provider`, and logins.

Run: .venv/bin/python benchmarks/auth_bench.py [--grants 600] [--warmup 200] [--logins 60]
     [--concurrency 8] [--no-peer] [--no-logins] [--src DIR] [--http h11] [--loop asyncio]
     [--profile FILE --profile-grant code|refresh|fapi]

The real application (`create_app()`) runs in its own process under uvicorn with one worker
(one Python process: at most one vCPU of Python work, plus PostgreSQL). Beside it, the same
run starts the peer, panva's `oidc-provider` 9 (OpenID-certified, Node.js; pinned by
`benchmarks/peers/oidc-provider/package-lock.json`, `npm ci` on first use) with a Redis store in
the pattern of its example adapter, against a private `redis-server` on a free port in a temp
folder with `appendonly yes` + `appendfsync always` (every write fsynced before it answers, as
PostgreSQL's commit is). The load comes from this process over HTTP with keep-alive clients in
threads, the same shape for both:

- code grant: `authorization_code` with PKCE (S256) and client_secret_basic, an ES256 id_token
  with a pairwise `sub`, access + refresh tokens stored, the code spent. Codes are pre-minted
  (eid: rows in its table; oidc-provider: its own `Grant` + `AuthorizationCode` models saved
  through the adapter, in its process, before it listens): the browser's authorize step is
  not the token endpoint's cost.
- refresh grant: rotation (old pair revoked, new pair stored).
- FAPI 2.0 code grant: private_key_jwt client assertion + DPoP proof (a fresh one per request,
  ES256, made here) for a client registered with keys; skipped, with the reason, when eid's
  discovery has no `pushed_authorization_request_endpoint`.

CPU from /proc/<pid>/stat (user + system, all threads) over each timed phase: "server" is the
uvicorn or node process; "store" adds the PostgreSQL backends serving eid (their pids from
pg_stat_activity for the bench database, less this process's own) or the redis-server. Both
ratios (eid / oidc-provider per CPU-second) are printed: server only, and server + store.
Measured on the 2-vCPU machine (other sessions' tests running beside it; ratios of the same run
are what count), 600 timed grants after 200 untimed, 8 clients:

                                          before (main)        after (this change)
  eid code grant, ms CPU (server + store)  3.9-4.0 + 0.7-0.75   1.18-1.58 + 0.28-0.48
  oidc-provider, same runs                 1.15-1.18 + 0.2      1.15-1.55 + 0.22-0.28
  ratio code grant (server / +store)       0.29-0.31 / 0.29-0.30   0.80-1.07 / 0.72-0.99
  ratio refresh (server / +store)          0.25-0.32 / 0.27-0.32   0.75-0.93 / 0.70-0.85
  ratio FAPI 2.0 grant (server / +store)   (no FAPI then)       0.41-0.51 / 0.42-0.50

("before": two runs with `--src` of main, h11 + asyncio as main installs them; "after": six runs
and three with FAPI 2.0 (the `fapi` work), whose grant goes the full Authlib way:
private_key_jwt and DPoP checks, their jti stores, the ORM.)
What the change did, each step measured: the code and refresh grants of a secret client in one
SQL statement on an autocommit connection that also counts the throttle (was: two pool
check-outs, two transactions, eight round trips, Authlib and the ORM: 3.8 -> 1.9 ms), then no
BEGIN/COMMIT round trips (1.8 ms), then httptools + uvloop under uvicorn (1.65 -> 1.32 ms). Per
grant now: one check-out ping, the throttle upsert, the grant statement; the rest is the ASGI
stack (middleware, routing, one thread hop) and the ES256 signature.

`--profile FILE` records py-spy's collapsed stacks of the eid server during one phase (needs
`pip install py-spy`; with uvloop, the loop's own C frames show as `Runner.run`).

Logins (after the grants, eid only): full login = POST /api/v1/identity/sessions with e-ID number
+ password + passcode: two Argon2id verifications (19 MiB, t=2, p=1), the lockout row, the audit
event, the session; device login = challenge, then password + Ed25519 signature over it (one
Argon2id); raw signing and raw Argon2id in this process for scale. Anchor (Keycloak's published
sizing guide): 15 password logins/s and 120 token grants/s per vCPU.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import queue
import random
import secrets
import shutil
import signal
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


def cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each process still alive (a process's /proc stat sums its threads)."""
    out: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):  # gone, or not ours
            out[pid] = cpu_seconds(pid)
    return out


class Meter:
    """CPU of a server process and of its datastore's processes over one phase.

    `store_pids` is called at the start and the end (PostgreSQL's backends come and go with the
    pool): a backend seen only at the end counts from zero, one gone by the end is lost (rare:
    the pool keeps its connections)."""

    def __init__(self, server_pid: int, store_pids: Callable[[], list[int]]) -> None:
        self.server_pid = server_pid
        self.store_pids = store_pids

    def __enter__(self) -> Meter:
        self.server0 = cpu_seconds(self.server_pid)
        self.store0 = cpu_of(self.store_pids())
        return self

    def __exit__(self, *exc: object) -> None:
        self.server = cpu_seconds(self.server_pid) - self.server0
        after = cpu_of(self.store_pids())
        self.store = sum(cpu - self.store0.get(pid, 0.0) for pid, cpu in after.items())


def wait_http(url: str, proc: subprocess.Popen[Any], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.2)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def mint_codes(
    db: Any,
    client_id: str,
    account_id: Any,
    n: int,
    *,
    scope: str = "openid ekyc_basic",
    dpop_jkt: str | None = None,
) -> list[tuple[str, str]]:
    """n authorization codes as the authorize endpoint leaves them (PKCE S256, Level 2, an
    hour to live; bound to a DPoP key when `dpop_jkt`, as PAR binds it): (code, verifier)."""
    from eid.core import clock
    from eid.core.crypto import hash_token
    from eid.identity import service as identity
    from eid.identity.models import AuthorizationCode

    extra = {"dpop_jkt": dpop_jkt} if dpop_jkt is not None else {}
    codes: list[tuple[str, str]] = []
    for _ in range(n):
        code, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        db.add(
            AuthorizationCode(
                code_hash=hash_token(code),
                client_id=client_id,
                account_id=account_id,
                redirect_uri=REDIRECT,
                scope=scope,
                nonce=secrets.token_hex(8),
                code_challenge=s256(verifier),
                code_challenge_method="S256",
                auth_time=int(time.time()),
                acr=identity.ACR_LEVEL2,
                amr=["pwd", "hwk"],
                expires_at=clock.now() + dt.timedelta(hours=1),
                **extra,
            )
        )
        codes.append((code, verifier))
    return codes


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
    parser.add_argument(
        "--warmup", type=int, default=200, help="untimed grants first (node's JIT, pools)"
    )
    parser.add_argument("--http", default="auto", help="uvicorn --http (auto: httptools if there)")
    parser.add_argument("--loop", default="auto", help="uvicorn --loop (auto: uvloop if there)")
    parser.add_argument(
        "--src", type=Path, help="serve another checkout's src/ (before/after in one setup)"
    )
    parser.add_argument("--no-peer", action="store_true", help="eid alone, no oidc-provider")
    parser.add_argument("--profile", help="py-spy's collapsed stacks of eid's server here")
    parser.add_argument(
        "--profile-grant", default="code", choices=["code", "refresh", "fapi"], help="which phase"
    )
    parser.add_argument("--no-logins", action="store_true", help="token grants only")
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
    from eid.core.database import unit_of_work
    from eid.identity import keys
    from eid.identity import service as identity
    from eid.identity.clients import create_client

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
        codes = mint_codes(db, client_id, first.id, n_codes)
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


PEER_DIR = Path(__file__).resolve().parent / "peers" / "oidc-provider"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (the oidc-provider peer needs it)")
    return found


class Peer:
    """oidc-provider (node) and its private redis-server, fsyncing every write."""

    def __init__(self, n_codes: int, fapi_jwks: dict[str, Any]) -> None:
        if not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
            subprocess.run(
                [tool("npm"), "ci", "--no-audit", "--no-fund", "--prefix", str(PEER_DIR)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        self.dir = Path(tempfile.mkdtemp(prefix="eid-authbench-peer-"))
        self.redis_port, self.port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.redis = subprocess.Popen(
            [
                tool("redis-server"),
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--logfile",
                str(self.dir / "redis.log"),
            ]
        )
        self.basic = {"client_id": "bench-basic", "client_secret": secrets.token_urlsafe(32)}
        self.fapi = {"client_id": "bench-fapi", "jwks": fapi_jwks}
        config = {
            "port": self.port,
            "issuer": self.base,
            "redis_port": self.redis_port,
            "basic": self.basic,
            "fapi": self.fapi,
            "redirect_uri": REDIRECT,
            "mint": {"basic": n_codes, "fapi": n_codes},
            "out": str(self.dir / "codes.json"),
        }
        (self.dir / "config.json").write_text(json.dumps(config))
        time.sleep(0.3)
        self.node = subprocess.Popen(
            [tool("node"), str(PEER_DIR / "provider.js"), str(self.dir / "config.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.node.stdout is not None
        line = self.node.stdout.readline()  # "ready" once the codes are minted and it listens
        if line.strip() != "ready":
            raise RuntimeError(f"oidc-provider did not start: {line!r}")
        wait_http(f"{self.base}/.well-known/openid-configuration", self.node, "oidc-provider")
        minted = json.loads((self.dir / "codes.json").read_text())
        self.codes: list[tuple[str, str]] = [tuple(c) for c in minted["basic"]]  # type: ignore[misc]
        self.fapi_codes: list[tuple[str, str]] = [tuple(c) for c in minted["fapi"]]  # type: ignore[misc]

    def stop(self) -> None:
        for proc in (self.node, self.redis):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def run(url: str, port: int, args: argparse.Namespace) -> None:
    from joserfc.jwk import ECKey
    from sqlalchemy import create_engine as make_engine
    from sqlalchemy import text

    from eid.core.database import configure_engine
    from eid.core.schema import upgrade

    upgrade(url)
    engine = make_engine(url, pool_size=4)
    configure_engine(engine)
    # Enough holders that no e-ID number goes over its own login limit (10 per 15 minutes).
    holders = max(4, args.concurrency, args.logins // 4)
    print(f"setting up: {args.grants} codes, {holders} activated holders ...", flush=True)
    client_id, secret, codes, holders_ = setup(args.grants + args.warmup, holders)
    fapi_key = ECKey.generate_key("P-256", auto_kid=True)
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
            "--http",
            args.http,
            "--loop",
            args.loop,
        ],
        env={
            **os.environ,
            "EID_TRUSTED_PROXIES": "127.0.0.1",
            **({"PYTHONPATH": str(args.src)} if args.src else {}),
        },
    )
    peer: Peer | None = None
    try:
        wait_http(f"{base}/healthz", server, "eid")
        with engine.connect() as conn:
            own = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

        def backends() -> list[int]:
            # The PostgreSQL backends serving the bench database, less this process's own
            # (the load generator's setup connections are idle during the timed phases).
            with engine.connect() as conn:
                mine = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
                rows = conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> :mine AND pid <> :own"
                    ),
                    {"mine": mine, "own": own},
                ).scalars()
                return [int(pid) for pid in rows]

        eid_meter = (server.pid, backends)
        fapi_eid = eid_fapi_setup(base, fapi_key, args.grants + args.warmup)
        if not args.no_peer:
            print("starting oidc-provider + redis (appendfsync always), minting codes ...")
            peer = Peer(
                args.grants + args.warmup,
                {"keys": [fapi_key.as_dict(private=False) | {"alg": "ES256", "use": "sig"}]},
            )
        report(base, client_id, secret, codes, holders_, args, eid_meter, peer, fapi_key, fapi_eid)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if peer is not None:
            peer.stop()


def eid_fapi_setup(base: str, key: Any, n_codes: int) -> tuple[str, list[tuple[str, str]]] | str:
    """A FAPI 2.0 client of eid and its pre-minted codes; a reason string when eid has no PAR."""
    discovery = httpx.get(f"{base}/.well-known/openid-configuration").json()
    if "pushed_authorization_request_endpoint" not in discovery:
        return "eid's discovery has no pushed_authorization_request_endpoint (no FAPI 2.0 yet)"
    import inspect

    from sqlalchemy import text

    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.identity import clients

    jwks = {"keys": [key.as_dict(private=False) | {"alg": "ES256", "use": "sig"}]}
    extra: dict[str, Any] = {}
    params = inspect.signature(clients.create_client).parameters
    if "profile" in params:
        extra["profile"] = "fapi2"
    if "jwks" in params:
        extra["jwks"] = jwks
    with unit_of_work() as db:
        client_id, _ = clients.create_client(
            db,
            name="Bench FAPI Bank",
            redirect_uris=[REDIRECT],
            scopes=["openid", "ekyc_basic"],
            purpose="benchmark",
            actor=Actor(kind="system", id="bench", role="admin"),
            **extra,
        )
        # The holder of the basic codes (setup's first holder).
        account_id = db.execute(
            text("SELECT account_id FROM oidc_authorization_codes LIMIT 1")
        ).scalar_one()
        minted = mint_codes(db, client_id, account_id, n_codes, scope="openid")
    return client_id, minted


def dpop_proof(key: Any, url: str, nonce: str | None = None, method: str = "POST") -> str:
    """RFC 9449 §4.2: a fresh proof for one request."""
    from joserfc import jwt

    public = {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")}
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
    }
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode({"typ": "dpop+jwt", "alg": "ES256", "jwk": public}, claims, key)


def client_assertion(key: Any, client_id: str, audience: str) -> str:
    """RFC 7523 private_key_jwt, audience the issuer (FAPI 2.0 §5.3.2.1)."""
    from joserfc import jwt

    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)


class Side:
    """One server under test: where to send the requests, whose CPU to count."""

    def __init__(
        self,
        name: str,
        base: str,
        token_path: str,
        issuer: str,
        auth: tuple[str, str],
        codes: list[tuple[str, str]],
        meter: tuple[int, Callable[[], list[int]]],
        fapi: tuple[str, list[tuple[str, str]]] | str,
    ) -> None:
        self.name, self.base, self.token_path, self.issuer = name, base, token_path, issuer
        self.auth, self.codes, self.meter, self.fapi = auth, codes, meter, fapi
        self.results: dict[str, tuple[float, float, float, int]] = {}
        self.profile: tuple[str, str] | None = None  # (output file, phase)

    def timed(
        self, kind: str, n: int, concurrency: int, call: Callable[[httpx.Client, int], None]
    ) -> None:
        profiler = None
        if self.profile is not None and kind == self.profile[1]:
            # py-spy samples the server during this phase (collapsed stacks, idle included:
            # filter out the waits when reading them).
            profiler = subprocess.Popen(
                [
                    *(tool("py-spy"), "record", "--pid", str(self.meter[0]), "--format", "raw"),
                    *("-r", "250", "-o", self.profile[0], "--nonblocking", "--idle"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
        with Meter(*self.meter) as meter:
            wall = load(n, concurrency, self.base, call)
        self.results[kind] = (wall, meter.server, meter.store, n)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=30)


def grant_phases(side: Side, args: argparse.Namespace, fapi_key: Any) -> None:
    refresh_tokens: list[str] = []
    codes = side.codes
    warm, measured = codes[: args.warmup], codes[args.warmup : args.warmup + args.grants]

    def grant_with(batch: list[tuple[str, str]]) -> Callable[[httpx.Client, int], None]:
        def grant(client: httpx.Client, i: int) -> None:
            code, verifier = batch[i]
            r = client.post(
                side.token_path,
                auth=side.auth,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                },
            )
            if r.status_code != 200 or "id_token" not in r.json():
                raise RuntimeError(f"{side.name} token endpoint: {r.status_code} {r.text}")
            refresh_tokens.append(r.json()["refresh_token"])

        return grant

    load(len(warm), args.concurrency, side.base, grant_with(warm))
    side.timed("code", len(measured), args.concurrency, grant_with(measured))
    fresh = refresh_tokens[-len(measured) :]

    def refresh(client: httpx.Client, i: int) -> None:
        r = client.post(
            side.token_path,
            auth=side.auth,
            data={"grant_type": "refresh_token", "refresh_token": fresh[i]},
        )
        if r.status_code != 200:
            raise RuntimeError(f"{side.name} refresh: {r.status_code} {r.text}")

    side.timed("refresh", len(fresh), args.concurrency, refresh)
    if isinstance(side.fapi, str):
        return
    fapi_client, fapi_codes = side.fapi
    url = side.issuer.rstrip("/") + side.token_path
    nonce: list[str | None] = [None]

    def fapi_grant(client: httpx.Client, i: int) -> None:
        code, verifier = fapi_codes[i]
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": fapi_client,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(fapi_key, fapi_client, side.issuer),
        }
        for _ in range(2):  # a server may ask for a DPoP nonce (RFC 9449 §8) once
            r = client.post(
                side.token_path, data=data, headers={"DPoP": dpop_proof(fapi_key, url, nonce[0])}
            )
            if r.status_code == 400 and r.headers.get("dpop-nonce"):
                nonce[0] = r.headers["dpop-nonce"]
                data["client_assertion"] = client_assertion(fapi_key, fapi_client, side.issuer)
                continue
            break
        body = r.json()
        if r.status_code != 200 or body.get("token_type", "").lower() != "dpop":
            raise RuntimeError(f"{side.name} FAPI token endpoint: {r.status_code} {r.text}")

    n = args.warmup
    load(n, args.concurrency, side.base, fapi_grant)
    side.timed("fapi", args.grants, args.concurrency, lambda c, i: fapi_grant(c, i + n))


def report(
    base: str,
    client_id: str,
    secret: str,
    codes: list[tuple[str, str]],
    holders: list[tuple[str, Any]],
    args: argparse.Namespace,
    eid_meter: tuple[int, Callable[[], list[int]]],
    peer: Peer | None,
    fapi_key: Any,
    fapi_eid: tuple[str, list[tuple[str, str]]] | str,
) -> None:
    from joserfc import jws

    eid = Side(
        "eid",
        base,
        "/oauth2/token",
        os.environ["EID_ISSUER"],
        (client_id, secret),
        codes,
        eid_meter,
        fapi_eid,
    )
    if args.profile:
        eid.profile = (args.profile, args.profile_grant)
    sides = [eid]
    if peer is not None:
        node_pid, redis_pid = peer.node.pid, peer.redis.pid
        sides.append(
            Side(
                "oidc-provider",
                peer.base,
                "/token",
                peer.base,
                (peer.basic["client_id"], peer.basic["client_secret"]),
                peer.codes,
                (node_pid, lambda: [redis_pid]),
                (peer.fapi["client_id"], peer.fapi_codes),
            )
        )
    for side in sides:
        grant_phases(side, args, fapi_key)
    print_comparison(sides)
    if args.no_logins:
        return

    numbers = [number for number, _ in holders]
    server_pid = eid_meter[0]
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
    wall_grants, server_cpu, _, n = eid.results["code"]
    rows = [
        ("raw ES256 signing, same key, this process", signing, None, None),
        (
            "token: authorization_code + PKCE + id_token",
            wall_grants,
            n / server_cpu,
            KEYCLOAK_GRANTS_PER_VCPU,
        ),
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
    print(
        f"{'eid against Keycloak sizing':46} {'wall /s':>9} {'per server CPU-s':>17} {'Keycloak /vCPU':>15} {'ratio':>6}"
    )
    for label, wall, per_cpu, anchor in rows:
        cells = f"{label:46} {wall:9.1f}"
        if per_cpu is not None and anchor is not None:
            cells += f" {per_cpu:17.1f} {anchor:15d} {per_cpu / anchor:6.2f}"
        print(cells)
    print()
    print(f"token endpoint (wall) / raw signing of the same key: {wall_grants / signing:.2%}")


LABELS = {
    "code": "code grant (PKCE, client_secret_basic, ES256 id_token)",
    "refresh": "refresh grant (rotation)",
    "fapi": "FAPI 2.0 code grant (private_key_jwt + DPoP)",
}


def print_comparison(sides: list[Side]) -> None:
    cpus = os.cpu_count() or 1
    print()
    print(f"machine: {cpus} vCPU shared by the servers, their stores and the load generator.")
    print("CPU from /proc/<pid>/stat: 'server' = the server process (uvicorn / node);")
    print("'store' = its datastore (the PostgreSQL backends serving eid / redis-server).")
    print()
    head = f"{'':54} {'server':>8} {'wall /s':>8} {'/server CPU-s':>14} {'/(server+store) CPU-s':>22} {'ms CPU/grant: server + store':>29}"
    print(head)
    for kind, label in LABELS.items():
        for side in sides:
            if kind not in side.results:
                reason = side.fapi if isinstance(side.fapi, str) else "not run"
                print(f"{label if side is sides[0] else '':54} {side.name:>8}  skipped: {reason}")
                continue
            wall, server, store, n = side.results[kind]
            print(
                f"{label if side is sides[0] else '':54} {side.name[:8]:>8} {wall:8.1f} {n / server:14.1f}"
                f" {n / (server + store):22.1f} {1000 * server / n:17.2f} + {1000 * store / n:5.2f}"
            )
    if len(sides) < 2:
        return
    eid, peer = sides
    print()
    print("ratio eid / oidc-provider, per CPU-second    server only   server + store")
    for kind, label in LABELS.items():
        if kind not in eid.results or kind not in peer.results:
            print(f"  {label:44} skipped")
            continue
        _, e_server, e_store, e_n = eid.results[kind]
        _, p_server, p_store, p_n = peer.results[kind]
        only = (e_n / e_server) / (p_n / p_server)
        both = (e_n / (e_server + e_store)) / (p_n / (p_server + p_store))
        print(f"  {label:44} {only:11.2f} {both:16.2f}")


if __name__ == "__main__":
    main()
