"""FAPI 2.0 token grants beside the basic ones, same server, same run.

Run: .venv/bin/python benchmarks/fapi_bench.py [--grants 600] [--concurrency 8]

The server (one uvicorn worker, its own process) redeems pre-inserted authorization codes:
- basic: client_secret_basic, PKCE, ES256 id_token (as benchmarks/auth_bench.py);
- FAPI 2.0: the same, but the client authenticates with a private_key_jwt assertion (ES256,
  its jti spent in PostgreSQL) and sends a DPoP proof (ES256, its jti spent too) of the key the
  code is bound to (as PAR binds it); the tokens are DPoP-bound;
- then refreshes of each kind (FAPI: assertion + proof of the same key).
Assertions and proofs are signed by the load generator (this process), not counted. 'per server
CPU-s' divides by the server process's own CPU time (/proc), as auth_bench does.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from auth_bench import (
    REDIRECT,
    client_assertion,
    cpu_seconds,
    dpop_proof,
    free_port,
    load,
    mint_codes,
    wait_http,
)
from auth_bench import setup as basic_setup
from bench_db import add_db_option, scratch

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def fapi_setup(n_codes: int) -> tuple[str, Any, Any, list[tuple[str, str]]]:
    from joserfc.jwk import ECKey

    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.identity.clients import create_client
    from eid.identity.models import HolderCredential

    client_key = ECKey.generate_key("P-256", parameters={"kid": "bench"})
    dpop_key = ECKey.generate_key("P-256")
    jkt = dpop_key.thumbprint()
    with unit_of_work() as db:
        client_id, _ = create_client(
            db,
            name="Bench FAPI Bank",
            redirect_uris=[REDIRECT],
            scopes=["openid", "ekyc_basic"],
            purpose="benchmark",
            actor=Actor(kind="system", id="bench", role="admin"),
            profile="fapi2",
            jwks={"keys": [client_key.as_dict(private=False)]},
        )
        account_id = db.query(HolderCredential.account_id).limit(1).scalar()
        codes = mint_codes(db, client_id, account_id, n_codes, dpop_jkt=jkt)
    return client_id, client_key, dpop_key, codes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grants", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    add_db_option(parser)
    args = parser.parse_args()
    port = free_port()
    keys_dir = Path(tempfile.mkdtemp(prefix="eid-fapibench-keys-"))
    os.environ.update(
        EID_KEYS_DIR=str(keys_dir), EID_ENV="development", EID_ISSUER=f"http://127.0.0.1:{port}"
    )
    with scratch(args.db, "eid_fapibench") as url:
        run(url, port, args)


def run(url: str, port: int, args: argparse.Namespace) -> None:
    import subprocess
    import sys

    from sqlalchemy import create_engine as make_engine

    from eid.core.database import configure_engine
    from eid.core.schema import upgrade

    upgrade(url)
    configure_engine(make_engine(url, pool_size=4))
    n = args.grants + args.grants // 10
    print(f"setting up: {n} basic and {n} FAPI 2.0 codes ...", flush=True)
    client_id, secret, basic_codes, _ = basic_setup(n, 1)
    fapi_id, client_key, dpop_key, fapi_codes = fapi_setup(n)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "eid.app:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
            *("--log-level", "warning", "--no-access-log"),
        ],
        env={**os.environ, "EID_TRUSTED_PROXIES": "127.0.0.1"},
    )
    try:
        wait_http(f"{base}/healthz", server, "eid")
        report(
            base,
            args,
            server.pid,
            (client_id, secret, basic_codes),
            fapi_id,
            client_key,
            dpop_key,
            fapi_codes,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def report(
    base: str,
    args: argparse.Namespace,
    pid: int,
    basic: tuple[str, str, list[tuple[str, str]]],
    fapi_id: str,
    client_key: Any,
    dpop_key: Any,
    fapi_codes: list[tuple[str, str]],
) -> None:
    client_id, secret, basic_codes = basic
    warm = args.grants // 10

    def assertion() -> dict[str, str]:
        return {
            "client_id": fapi_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(client_key, fapi_id, base),
        }

    def proof() -> str:
        return dpop_proof(dpop_key, f"{base}/oauth2/token")

    def measure(batch_size: int, make: Callable[[httpx.Client, int], None]) -> tuple[float, float]:
        cpu0 = cpu_seconds(pid)
        wall = load(batch_size, args.concurrency, base, make)
        return wall, batch_size / (cpu_seconds(pid) - cpu0)

    refresh: dict[str, list[str]] = {"basic": [], "fapi": []}

    def basic_grant(offset: int) -> Callable[[httpx.Client, int], None]:
        def grant(client: httpx.Client, i: int) -> None:
            code, verifier = basic_codes[offset + i]
            r = client.post(
                "/oauth2/token",
                auth=(client_id, secret),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                },
            )
            if r.status_code != 200:
                raise RuntimeError(f"basic grant: {r.status_code} {r.text}")
            refresh["basic"].append(r.json()["refresh_token"])

        return grant

    def fapi_grant(offset: int) -> Callable[[httpx.Client, int], None]:
        def grant(client: httpx.Client, i: int) -> None:
            code, verifier = fapi_codes[offset + i]
            r = client.post(
                "/oauth2/token",
                headers={"DPoP": proof()},
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                    **assertion(),
                },
            )
            if r.status_code != 200 or r.json()["token_type"] != "DPoP":  # noqa: S105
                raise RuntimeError(f"FAPI grant: {r.status_code} {r.text}")
            refresh["fapi"].append(r.json()["refresh_token"])

        return grant

    load(warm, args.concurrency, base, basic_grant(0))
    load(warm, args.concurrency, base, fapi_grant(0))
    refresh["basic"].clear()
    refresh["fapi"].clear()
    rows = [
        ("code grant, basic (client_secret_basic)", *measure(args.grants, basic_grant(warm))),
        ("code grant, FAPI 2.0 (private_key_jwt + DPoP)", *measure(args.grants, fapi_grant(warm))),
    ]
    basic_tokens, fapi_tokens = list(refresh["basic"]), list(refresh["fapi"])

    def basic_refresh(client: httpx.Client, i: int) -> None:
        r = client.post(
            "/oauth2/token",
            auth=(client_id, secret),
            data={"grant_type": "refresh_token", "refresh_token": basic_tokens[i]},
        )
        if r.status_code != 200:
            raise RuntimeError(f"basic refresh: {r.status_code} {r.text}")

    def fapi_refresh(client: httpx.Client, i: int) -> None:
        r = client.post(
            "/oauth2/token",
            headers={"DPoP": proof()},
            data={"grant_type": "refresh_token", "refresh_token": fapi_tokens[i], **assertion()},
        )
        if r.status_code != 200:
            raise RuntimeError(f"FAPI refresh: {r.status_code} {r.text}")

    rows.append(("refresh, basic", *measure(len(basic_tokens), basic_refresh)))
    rows.append(
        ("refresh, FAPI 2.0 (private_key_jwt + DPoP)", *measure(len(fapi_tokens), fapi_refresh))
    )
    print(f"\n{'':48} {'wall /s':>8} {'per server CPU-s':>17}")
    for name, wall, per_cpu in rows:
        print(f"{name:48} {wall:8.1f} {per_cpu:17.1f}")
    print(
        f"\nFAPI 2.0 / basic, per server CPU-s: code {rows[1][2] / rows[0][2]:.2f}, "
        f"refresh {rows[3][2] / rows[2][2]:.2f}"
    )


if __name__ == "__main__":
    main()
